// The only file that compiles CLI11: course::cli::App and Option forward to it.
#include "course/cli.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

#include "course/error.hpp"
#include "course/signals.hpp"

namespace course::cli {

struct App::Impl {
    std::unique_ptr<CLI::App> owned;  // the top-level command owns its CLI::App
    CLI::App* app;                    // a subcommand's is owned by its parent
    std::vector<std::unique_ptr<Option>> options;
    std::vector<std::unique_ptr<App>> subcommands;

    Option* keep(CLI::Option* option) {
        options.push_back(std::unique_ptr<Option>(new Option(option)));
        return options.back().get();
    }
};

App::App(const std::string& description) : impl_(std::make_unique<Impl>()) {
    impl_->owned = std::make_unique<CLI::App>(description);
    impl_->app = impl_->owned.get();
}
App::App(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
App::~App() = default;

template <OptionValue Value>
Option* App::add_option(const std::string& name, Value& value, const std::string& help) {
    return impl_->keep(impl_->app->add_option(name, value, help));
}
template Option* App::add_option(const std::string&, std::string&, const std::string&);
template Option* App::add_option(const std::string&, std::vector<std::string>&, const std::string&);
template Option* App::add_option(const std::string&, int&, const std::string&);
template Option* App::add_option(const std::string&, long&, const std::string&);
template Option* App::add_option(const std::string&, long long&, const std::string&);
template Option* App::add_option(const std::string&, unsigned short&, const std::string&);
template Option* App::add_option(const std::string&, unsigned&, const std::string&);
template Option* App::add_option(const std::string&, unsigned long&, const std::string&);
template Option* App::add_option(const std::string&, unsigned long long&, const std::string&);
template Option* App::add_option(const std::string&, double&, const std::string&);

Option* App::add_flag(const std::string& name, bool& value, const std::string& help) {
    return impl_->keep(impl_->app->add_flag(name, value, help));
}

Option* App::add_option_function(const std::string& name,
                                 const std::function<void(const int&)>& store,
                                 const std::string& help) {
    return impl_->keep(impl_->app->add_option_function<int>(name, store, help));
}

App* App::add_subcommand(const std::string& name, const std::string& description) {
    auto impl = std::make_unique<Impl>();
    impl->app = impl_->app->add_subcommand(name, description);
    impl_->subcommands.push_back(std::unique_ptr<App>(new App(std::move(impl))));
    return impl_->subcommands.back().get();
}

App* App::fallthrough(bool value) {
    impl_->app->fallthrough(value);
    return this;
}

App* App::require_subcommand(int how_many) {
    impl_->app->require_subcommand(how_many);
    return this;
}

std::size_t App::count(const std::string& option_name) const {
    return impl_->app->count(option_name);
}

App::operator bool() const {
    return impl_->app->parsed();
}

Option* Option::check(const Range& range) {
    if (range.integral)
        option_->check(CLI::Range(range.int_min, range.int_max));
    else
        option_->check(CLI::Range(range.real_min, range.real_max));
    return this;
}

Option* Option::check(const IsMember& choices) {
    option_->check(CLI::IsMember(choices.choices));
    return this;
}

Option* Option::check(NonNegativeNumberCheck) {
    option_->check(CLI::NonNegativeNumber);
    return this;
}

Option* Option::check(ExistingDirectoryCheck) {
    option_->check(CLI::ExistingDirectory);
    return this;
}

Option* Option::check(Check check) {
    option_->check(std::move(check));
    return this;
}

Option* Option::required(bool value) {
    option_->required(value);
    return this;
}

Option* Option::capture_default_str() {
    option_->capture_default_str();
    return this;
}

Option* Option::default_str(const std::string& text) {
    option_->default_str(text);
    return this;
}

Option* Option::description(const std::string& text) {
    option_->description(text);
    return this;
}

Option* Option::excludes(Option* other) {
    option_->excludes(other->option_);
    return this;
}

namespace {

void print_usage_error(const CLI::App& app, const std::string& what) {
    std::cerr << "error: " << what << "\nRun '" << app.get_name() << " --help' for usage.\n";
}

}  // namespace

int run_main(App& app, int argc, char** argv, const std::function<int()>& body) {
    ignore_sigpipe();
    std::cout << std::unitbuf;  // lines reach a pipe as they are printed, not at exit
    std::string name = argc > 0 ? argv[0] : "program";
    CLI::App& parser = *app.impl_->app;
    parser.name(name.substr(name.find_last_of('/') + 1));
    try {
        parser.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {  // --help
            std::cout << parser.help();
            return 0;
        }
        print_usage_error(parser, e.what());
        return 2;
    }
    try {
        return body();
    } catch (const StopRequested&) {
        return 0;
    } catch (const UsageError& e) {
        print_usage_error(parser, e.what());
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
}

}  // namespace course::cli

namespace course {

cli::Option* add_host_option(cli::App& app, std::string& host) {
    return app.add_option("--host", host, "Host name or address (IPv4 or IPv6, e.g. ::1)")
        ->capture_default_str();
}

cli::Option* add_port_option(cli::App& app, std::uint16_t& port) {
    // Parse into an int first so that "70000" is reported as out of range
    // rather than silently wrapped, and "abc" as not a number.
    return app
        .add_option_function(
            "--port", [&port](const int& value) { port = static_cast<std::uint16_t>(value); },
            "TCP/UDP port, 0-65535 (0: let the OS pick a free one)")
        ->check(cli::Range(0, 65535))
        ->default_str(std::to_string(port));
}

cli::Option* add_seconds_option(cli::App& app, const std::string& name, double& seconds,
                                const std::string& help) {
    return app.add_option(name, seconds, help + " (seconds, fractions allowed)")
        ->check(cli::NonNegativeNumber)
        ->capture_default_str();
}

}  // namespace course
