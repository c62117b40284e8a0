// Command lines, and the one main() wrapper every program uses.
//
// Every program builds a course::cli::App, adds its options, and hands its body
// to run_main(), which applies the contract:
//   --help                      -> usage on stdout, exit 0
//   bad flag / missing argument -> "error: <what>" + hint on stderr, exit 2
//   runtime failure             -> "error: <what>: <reason>" on stderr, exit 1
//   SIGINT/SIGTERM (servers)    -> clean unwinding, exit 0
//
// The parsing itself is CLI11's (Debian's libcli11-dev); App and Option are thin
// handles onto it with the same method names. Why not include CLI11 directly?
// It is header-only and compiling it costs ~7 s per program; behind this header
// it is compiled once, in common/src/cli.cpp, and the whole course builds
// several times faster. Nothing here is a parser of our own.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace CLI {  // CLI11's own class, known only to common/src/cli.cpp
class Option;
}  // namespace CLI

namespace course::cli {

// Validators for Option::check(), named as in CLI11.
struct Range {  // min <= value <= max, integers or fractions
    template <typename Number>
    Range(Number min, Number max)
        : integral(std::is_integral_v<Number>),
          int_min(static_cast<long long>(min)),
          int_max(static_cast<long long>(max)),
          real_min(static_cast<double>(min)),
          real_max(static_cast<double>(max)) {}
    bool integral;
    long long int_min, int_max;
    double real_min, real_max;
};
struct IsMember {  // one of a fixed set of words
    IsMember(std::vector<std::string> choices) : choices(std::move(choices)) {}
    std::vector<std::string> choices;
};
inline constexpr struct NonNegativeNumberCheck {
} NonNegativeNumber;
inline constexpr struct ExistingDirectoryCheck {
} ExistingDirectory;
// A check of your own: returns "" when the text is fine, else what is wrong.
using Check = std::function<std::string(const std::string& text)>;

class App;

// The types an option can be stored in (common/src/cli.cpp compiles one add_option for each).
template <typename T>
concept OptionValue = std::same_as<T, std::string> || std::same_as<T, std::vector<std::string>> ||
    std::same_as<T, int> || std::same_as<T, long> || std::same_as<T, long long> ||
    std::same_as<T, unsigned short> || std::same_as<T, unsigned> ||
    std::same_as<T, unsigned long> || std::same_as<T, unsigned long long> ||
    std::same_as<T, double>;

// One option or positional argument. Methods return `this`, so they chain with ->.
class Option {
  public:
    Option* check(const Range& range);
    Option* check(const IsMember& choices);
    Option* check(NonNegativeNumberCheck);
    Option* check(ExistingDirectoryCheck);
    Option* check(Check check);
    Option* required(bool value = true);
    Option* capture_default_str();                 // --help shows the current value as default
    Option* default_str(const std::string& text);  // --help shows this as default
    Option* description(const std::string& text);
    Option* excludes(Option* other);  // giving both is a usage error

  private:
    friend class App;
    explicit Option(CLI::Option* option) : option_(option) {}
    CLI::Option* option_;  // owned by its CLI::App
};

// A command line (or one subcommand of it).
class App {
  public:
    explicit App(const std::string& description = "");
    ~App();
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    // An option (a name starting with -) or a positional argument stored in `value`.
    template <OptionValue Value>
    Option* add_option(const std::string& name, Value& value, const std::string& help = "");
    Option* add_flag(const std::string& name, bool& value, const std::string& help = "");
    // An option whose value is handed to `store` (e.g. to convert or range-check it first).
    Option* add_option_function(const std::string& name,
                                const std::function<void(const int&)>& store,
                                const std::string& help = "");

    App* add_subcommand(const std::string& name, const std::string& description = "");
    App* fallthrough(bool value = true);  // a subcommand's options may come before it
    App* require_subcommand(int how_many);
    std::size_t count(const std::string& option_name) const;  // how often it was given
    explicit operator bool() const;  // this (sub)command was given on the command line

  private:
    struct Impl;
    explicit App(std::unique_ptr<Impl> impl);
    friend int run_main(App& app, int argc, char** argv, const std::function<int()>& body);
    std::unique_ptr<Impl> impl_;
};

}  // namespace course::cli

namespace course {

// --host HOST: a name, an IPv4 literal or an IPv6 literal ("::1").
cli::Option* add_host_option(cli::App& app, std::string& host);

// --port PORT: 0..65535 (0 lets the OS pick a free port); anything else is a usage error.
cli::Option* add_port_option(cli::App& app, std::uint16_t& port);

// A time flag in seconds, fractions allowed ("0.5").
cli::Option* add_seconds_option(cli::App& app, const std::string& name, double& seconds,
                                const std::string& help);

}  // namespace course

namespace course::cli {

// Parses the command line and runs `body`, turning every outcome into the
// contract's message and exit status. `body` returns the exit status.
int run_main(App& app, int argc, char** argv, const std::function<int()>& body);

}  // namespace course::cli

namespace course {
using cli::run_main;
}  // namespace course
