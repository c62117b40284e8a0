// Command lines (CLI11, from Debian's libcli11-dev) and the one main() wrapper.
//
// Every program builds a CLI::App, adds its options, and hands its body to
// run_main(), which applies the contract:
//   --help                      -> usage on stdout, exit 0
//   bad flag / missing argument -> "error: <what>" + hint on stderr, exit 2
//   runtime failure             -> "error: <what>: <reason>" on stderr, exit 1
//   SIGINT/SIGTERM (servers)    -> clean unwinding, exit 0
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>

namespace course {

// --host HOST: a name, an IPv4 literal or an IPv6 literal ("::1").
CLI::Option* add_host_option(CLI::App& app, std::string& host);

// --port PORT: 0..65535 (0 lets the OS pick a free port); anything else is a usage error.
CLI::Option* add_port_option(CLI::App& app, std::uint16_t& port);

// A time flag in seconds, fractions allowed ("0.5").
CLI::Option* add_seconds_option(CLI::App& app, const std::string& name, double& seconds,
                                const std::string& help);

// Parses the command line and runs `body`, turning every outcome into the
// contract's message and exit status. `body` returns the exit status.
int run_main(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

}  // namespace course
