#include "course/cli.hpp"

#include <iostream>

#include "course/error.hpp"
#include "course/signals.hpp"

namespace course {

namespace {

void print_usage_error(const CLI::App& app, const std::string& what) {
    std::cerr << "error: " << what << "\nRun '" << app.get_name() << " --help' for usage.\n";
}

}  // namespace

CLI::Option* add_host_option(CLI::App& app, std::string& host) {
    return app.add_option("--host", host, "Host name or address (IPv4 or IPv6, e.g. ::1)")
        ->capture_default_str();
}

CLI::Option* add_port_option(CLI::App& app, std::uint16_t& port) {
    // Parse into an int first so that "70000" is reported as out of range
    // rather than silently wrapped, and "abc" as not a number.
    return app
        .add_option_function<int>(
            "--port", [&port](const int& value) { port = static_cast<std::uint16_t>(value); },
            "TCP/UDP port, 0-65535 (0: let the OS pick a free one)")
        ->check(CLI::Range(0, 65535))
        ->default_str(std::to_string(port));
}

CLI::Option* add_seconds_option(CLI::App& app, const std::string& name, double& seconds,
                                const std::string& help) {
    return app.add_option(name, seconds, help + " (seconds, fractions allowed)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
}

int run_main(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
    ignore_sigpipe();
    std::cout << std::unitbuf;  // lines reach a pipe as they are printed, not at exit
    std::string name = argc > 0 ? argv[0] : "program";
    app.name(name.substr(name.find_last_of('/') + 1));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {  // --help
            std::cout << app.help();
            return 0;
        }
        print_usage_error(app, e.what());
        return 2;
    }
    try {
        return body();
    } catch (const StopRequested&) {
        return 0;
    } catch (const UsageError& e) {
        print_usage_error(app, e.what());
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
}

}  // namespace course
