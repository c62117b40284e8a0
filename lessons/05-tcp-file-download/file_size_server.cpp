// file_size_server: exercise 05.1 -- a server that tells a file's size before anyone downloads it.
//
// file_server cannot tell a client "no such file" from "an empty file": it just
// sends nothing. This little server answers the question first: the client
// sends a file name (one send, as in the seed), the server answers one line,
// the file's size in bytes ("1234\n") or "no such file\n", and hangs up.
//
//   file_size_server --root demo --port 8005    then: echo -n hello.txt | nc 127.0.0.1 8005
#include <sys/socket.h>
#include <sys/stat.h>

#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/files.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

// The line to answer for `name`: "SIZE\n" or "no such file\n".
std::string describe(const course::Root& root, const std::string& name) {
    // Exercise 05.1: answer the size in bytes of the regular file `name` under
    // `root`, or "no such file\n" when there is none to give. Open it as
    // file_server does, with course::open_inside (it throws course::Refused for
    // a name outside the root or a folder, std::system_error for a missing
    // file), then fstat() the open file for its size.
    // BEGIN SOLUTION 05.1
    try {
        const course::Fd file = course::open_inside(root, name);
        struct stat info {};
        course::check(::fstat(file.get(), &info), "fstat");
        return std::to_string(info.st_size) + "\n";
    } catch (const course::Refused&) {    // outside the root, a folder, ...
    } catch (const std::system_error&) {  // missing, unreadable, ...
    }
    return "no such file\n";
    // BEGIN STUB
    // static_cast<void>(root);  // unused until you write the lookup
    // static_cast<void>(name);
    // return "no such file\n";
    // END STUB
    // END SOLUTION
}

int main(int argc, char** argv) {
    course::cli::App app{
        "Answer a file name with that file's size in bytes (lesson 05, exercise 1)."};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8005;
    std::string root_arg = ".";
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--root", root_arg, "Folder whose files may be asked about")
        ->check(course::cli::ExistingDirectory)
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0
        const course::Root root = course::open_root(root_arg, "root " + root_arg);
        course::Fd listener = course::listen_tcp(host, port);
        course::announce_listening(listener.get());
        std::vector<char> buffer(4096);
        for (;;) {  // one question per client, one client after another
            course::Fd client = course::accept_client(listener.get());
            try {
                const std::size_t n = course::recv_some(client.get(), buffer.data(), buffer.size());
                const std::string name(buffer.data(), n);
                const std::string answer = describe(root, name);
                std::cerr << "asked for " << name.size() << " bytes of name, answered " << answer;
                course::send_all(client.get(), answer);
            } catch (const std::system_error& e) {
                std::cerr << "client dropped: " << e.what() << '\n';
            }
        }
    });
}
