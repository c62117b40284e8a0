// file_size_server: exercise 05.1 -- a server that says how big a file is before anyone downloads
// it.
//
// file_server cannot tell a client "no such file" from "an empty file": it just
// sends nothing. This little server answers the question first: the client
// sends a file name (one send, as in the seed), the server answers one line,
// the file's size in bytes ("1234\n") or "no such file\n", and hangs up.
//
//   file_size_server --root demo --port 8005    then: echo -n hello.txt | nc 127.0.0.1 8005
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/signals.hpp"

namespace fs = std::filesystem;

// The file `name` names under `root`, or an empty path when the name must be
// refused: absolute, a ".." anywhere, or (through a symlink) outside the root.
fs::path inside_root(const fs::path& root, const std::string& name) {
    const fs::path relative(name);
    if (name.empty() || relative.is_absolute()) return {};
    for (const auto& part : relative)
        if (part == "..") return {};
    std::error_code error;
    const fs::path real = fs::weakly_canonical(root / relative, error);
    const fs::path real_root = fs::canonical(root);
    if (error) return {};
    const auto [end, _] =
        std::mismatch(real_root.begin(), real_root.end(), real.begin(), real.end());
    return end == real_root.end() ? real : fs::path{};
}

// The line to answer for `name`: "SIZE\n" or "no such file\n".
std::string describe(const fs::path& root, const std::string& name) {
    // Exercise 05.1: answer the size in bytes of the regular file `name` under
    // `root` (use inside_root), or "no such file\n" when there is none to give.
    // BEGIN SOLUTION 05.1
    const fs::path file = inside_root(root, name);
    std::error_code error;  // the error_code overloads: a missing file is not an exception
    if (file.empty() || !fs::is_regular_file(file, error)) return "no such file\n";
    const std::uintmax_t size = fs::file_size(file, error);
    if (error) return "no such file\n";
    return std::to_string(size) + "\n";
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
    std::string root = ".";
    course::add_host_option(app, host);
    course::add_port_option(app, port);
    app.add_option("--root", root, "Folder whose files may be asked about")
        ->check(course::cli::ExistingDirectory)
        ->capture_default_str();

    return course::run_main(app, argc, argv, [&]() -> int {
        course::install_stop_handlers();  // Ctrl-C / SIGTERM: stop cleanly, exit 0
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
