// addr_lookup: exercise 20.1 -- one name, several addresses: walk the list getaddrinfo returns.
//
// A name is not an address: getaddrinfo() turns it into a LIST of them, IPv6
// and IPv4 mixed, in the order a client should try them (RFC 6724, tuned in
// /etc/gai.conf). connect_tcp in common/ walks that list; this program prints it.
//
//   addr_lookup localhost 80        IPv6 [::1]:80   and/or   IPv4 127.0.0.1:80
//   addr_lookup ::1                 IPv6 [::1]:80
//   addr_lookup --numeric 10.0.0.1  literals only: never asks DNS (AI_NUMERICHOST)
//
// A name that does not resolve is an error: "error: resolve NAME: <reason>", exit 1.
#include <netdb.h>
#include <sys/socket.h>

#include <iostream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "course/address.hpp"
#include "course/cli.hpp"
#include "course/error.hpp"

// One line per address of the list that starts at `first`, in the list's
// order: "IPv4 127.0.0.1:80" or "IPv6 [::1]:80".
std::vector<std::string> describe_addresses(const addrinfo* first) {
    std::vector<std::string> lines;
    // Exercise 20.1: follow the list from `first` through each entry's ai_next
    // until nullptr. ai_family says IPv4 (AF_INET) or IPv6 (AF_INET6);
    // course::format_address(ai_addr, ai_addrlen) writes the address the course's way.
    // BEGIN SOLUTION 20.1
    for (const addrinfo* ai = first; ai != nullptr; ai = ai->ai_next) {
        std::string version = "family " + std::to_string(ai->ai_family);  // neither: unusual
        if (ai->ai_family == AF_INET) version = "IPv4";
        if (ai->ai_family == AF_INET6) version = "IPv6";
        lines.push_back(version + " " + course::format_address(ai->ai_addr, ai->ai_addrlen));
    }
    // BEGIN STUB
    // static_cast<void>(first);  // unused until you write the loop
    // END STUB
    // END SOLUTION
    return lines;
}

int main(int argc, char** argv) {
    course::cli::App app{"Print every address getaddrinfo finds for HOST (lesson 20, exercise 1)."};
    std::string host;
    int port = 80;
    bool numeric = false;
    app.add_option("host", host, "A name (localhost), an IPv4 or an IPv6 literal (::1)")
        ->required();
    app.add_option("port", port, "The port to put in every address, 0-65535")
        ->check(course::cli::Range(0, 65535))
        ->capture_default_str();
    app.add_flag("--numeric", numeric,
                 "Accept only address literals: never ask DNS (AI_NUMERICHOST)");

    return course::run_main(app, argc, argv, [&]() -> int {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;      // IPv4 and IPv6: whatever the name has
        hints.ai_socktype = SOCK_STREAM;  // one entry per address (not one per socket type)
        hints.ai_flags = numeric ? AI_NUMERICHOST : 0;
        const std::string service = std::to_string(port);

        addrinfo* found = nullptr;
        if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
            // getaddrinfo has its own error codes (EAI_*): gai_strerror names them.
            if (rc == EAI_SYSTEM) course::throw_errno("resolve " + host);
            throw std::runtime_error("resolve " + host + ": " + ::gai_strerror(rc));
        }
        // The list is getaddrinfo's memory: freeaddrinfo() gives it back when
        // `list` goes out of scope, whatever happens in between.
        const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
        for (const std::string& line : describe_addresses(list.get()))
            std::cout << line << '\n';
        return 0;
    });
}
