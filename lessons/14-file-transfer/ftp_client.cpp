// ftp_client: ls, get and put against ftp_server: JSON headers in frames, raw bodies, sha256.
//
//   ftp_client ls
//   ftp_client get report.pdf [--output copy.pdf] [--resume]
//   ftp_client put photo.jpg [--as holiday.jpg]
//
// A download is written to OUTPUT.part and renamed to OUTPUT only once its
// sha256 matches the one the server announced: an interrupted or corrupted
// download never sits under the final name. The protocol is drawn in ftp_protocol.hpp.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "course/cli.hpp"
#include "course/error.hpp"
#include "course/fd.hpp"
#include "course/io.hpp"
#include "course/net.hpp"
#include "course/sha256.hpp"
#include "course/signals.hpp"
#include "course/text.hpp"
#include "ftp_protocol.hpp"
#include "progress.hpp"

namespace fs = std::filesystem;
using ftp::Json;

namespace {

struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = ftp::default_port;
    double timeout = 10;
    bool progress = false;
};

[[noreturn]] void timed_out(const std::string& what) {
    throw std::system_error(ETIMEDOUT, std::generic_category(), what);
}

// Feeds `fd`'s bytes from its current position to EOF into `hash`; returns how many.
std::uint64_t hash_file(int fd, course::Sha256& hash) {
    std::vector<char> buffer(ftp::chunk_size);
    std::uint64_t total = 0;
    for (;;) {
        course::throw_if_stop_requested();
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        course::check(n, "read");
        if (n == 0) return total;
        hash.update(buffer.data(), static_cast<std::size_t>(n));
        total += static_cast<std::uint64_t>(n);
    }
}

// The server's reply header; {"status": "error"} becomes an exception with its message.
Json expect_reply(int sock, const Options& options) {
    std::optional<Json> reply = ftp::recv_header(sock, ftp::max_reply_header, options.timeout);
    if (!reply) throw course::ProtocolError("the server closed the connection without a reply");
    if (ftp::string_field(*reply, "status") != "ok") {
        const auto message = reply->find("message");
        throw std::runtime_error(message != reply->end() && message->is_string()
                                     ? message->get<std::string>()
                                     : "the server said error, without a message");
    }
    return *reply;
}

int list(const Options& options) {
    course::Fd sock = course::connect_tcp(options.host, options.port, options.timeout);
    ftp::send_header(sock.get(), {{"op", "ls"}});
    const Json reply = expect_reply(sock.get(), options);
    const auto files = reply.find("files");
    if (files == reply.end() || !files->is_array())
        throw course::ProtocolError("the ls reply has no \"files\" list");
    for (const Json& file : *files)
        std::cout << std::setw(12) << ftp::size_field(file, "size") << "  "
                  << course::escape_invalid_utf8(ftp::string_field(file, "name")) << '\n';
    return 0;
}

int get(const Options& options, const std::string& name, std::string output, bool resume) {
    if (output.empty()) output = fs::path(name).filename().string();  // saved in this folder
    if (output.empty() || output == "." || output == "..")
        throw course::UsageError("cannot make a file name out of \"" + name + "\"; use --output");
    const fs::path temp = output + ".part";

    // --resume: hash what an earlier, interrupted get left in OUTPUT.part, and
    // ask the server for the rest only.
    course::Sha256 hash;
    std::uint64_t have = 0;
    if (resume) {
        course::Fd old(::open(temp.c_str(), O_RDONLY | O_CLOEXEC));
        if (old) have = hash_file(old.get(), hash);
    }

    course::Fd sock = course::connect_tcp(options.host, options.port, options.timeout);
    Json request = {{"op", "get"}, {"name", name}};
    if (have > 0) request["offset"] = have;
    ftp::send_header(sock.get(), request);
    const Json reply = expect_reply(sock.get(), options);
    const std::uint64_t size = ftp::size_field(reply, "size");  // bytes that follow
    const std::string expected = ftp::sha256_field(reply, "sha256");
    const std::uint64_t offset = reply.contains("offset") ? ftp::size_field(reply, "offset") : 0;
    if (offset != have) {
        if (offset != 0) throw course::ProtocolError("the server resumed at another offset");
        hash = course::Sha256();  // a server that does not resume: start over
        have = 0;
    }

    // --8<-- [start:download]
    ftp::PartFile part(temp, /*append=*/have > 0);
    part.keep_on_failure(resume);  // --resume keeps a cut download for next time
    ftp::Progress progress(output, have + size, ftp::Progress::choose(options.progress), have);
    std::vector<char> buffer(ftp::chunk_size);  // memory: one chunk, whatever the file's size
    for (std::uint64_t received = 0; received < size;) {
        if (!course::wait_readable(sock.get(), options.timeout))
            timed_out("the server went silent");
        const std::size_t n = course::recv_some(
            sock.get(), buffer.data(), std::min<std::uint64_t>(buffer.size(), size - received));
        if (n == 0)
            throw course::ProtocolError("the server closed the connection after " +
                                        std::to_string(have + received) + " of " +
                                        std::to_string(have + size) + " bytes");
        hash.update(buffer.data(), n);  // hash as the bytes go by: no second read
        part.write(buffer.data(), n);
        received += n;
        progress.update(have + received);
    }
    progress.finish();

    const std::string actual = hash.hex_digest();
    if (actual != expected) {
        part.keep_on_failure(false);  // corrupted: nothing worth resuming
        throw course::ProtocolError("sha256 mismatch: the server announced " + expected +
                                    ", the bytes received have " + actual);
    }
    part.commit(output);  // verified: now, and only now, the file gets its name
    // --8<-- [end:download]
    std::cout << "saved " << output << " (" << have + size << " bytes, sha256 " << actual
              << " verified)\n";
    return 0;
}

int put(const Options& options, const std::string& path, std::optional<std::string> as) {
    course::Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) course::throw_errno("open " + path);
    struct stat info {};
    course::check(::fstat(file.get(), &info), "fstat " + path);
    if (!S_ISREG(info.st_mode)) throw std::runtime_error(path + " is not a regular file");
    const auto size = static_cast<std::uint64_t>(info.st_size);
    const std::string name = as ? *as : fs::path(path).filename().string();

    // --8<-- [start:upload]
    // The header carries the sha256, so the file is read once to hash it...
    course::Sha256 hash;
    if (hash_file(file.get(), hash) != size) throw std::runtime_error(path + " changed size");
    const std::string sha256 = hash.hex_digest();

    course::Fd sock = course::connect_tcp(options.host, options.port, options.timeout);
    ftp::send_header(sock.get(),
                     {{"op", "put"}, {"name", name}, {"size", size}, {"sha256", sha256}});

    // ...and once more to send it, with sendfile() (the kernel copies file ->
    // socket). A server that refuses (bad name, full disk) replies at once and
    // stops reading: when a reply is waiting, stop sending and go read it.
    course::check(::fcntl(sock.get(), F_SETFL, O_NONBLOCK), "fcntl O_NONBLOCK");
    ftp::Progress progress(name, size, ftp::Progress::choose(options.progress));
    off_t position = 0;
    while (static_cast<std::uint64_t>(position) < size) {
        if (course::wait_readable(sock.get(), 0)) break;  // an early reply
        if (!course::wait_writable(sock.get(), options.timeout))
            timed_out("the server stopped reading");
        const ssize_t n =
            ::sendfile(sock.get(), file.get(), &position,
                       std::min<std::uint64_t>(size - static_cast<std::uint64_t>(position),
                                               4 * ftp::chunk_size));
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) break;  // the reply may say why
        course::check(n, "sendfile");
        if (n == 0) throw std::runtime_error(path + " shrank while being sent");
        progress.update(static_cast<std::uint64_t>(position));
    }
    if (static_cast<std::uint64_t>(position) == size) progress.finish();

    const Json reply = expect_reply(sock.get(), options);  // the server's verdict
    // --8<-- [end:upload]
    std::cout << "stored " << name << " on the server (" << size
              << " bytes, sha256 verified by the server)\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    course::cli::App app{"List, download and upload the files of an ftp_server (lesson 14)."};
    app.fallthrough();  // options work before or after the subcommand
    app.require_subcommand(1);
    Options options;
    course::add_host_option(app, options.host);
    course::add_port_option(app, options.port);
    course::add_seconds_option(app, "--timeout", options.timeout,
                               "Give up when the server is silent this long");
    app.add_flag("--progress", options.progress,
                 "Print progress lines on stderr even when it is not a terminal");

    course::cli::App* ls_command = app.add_subcommand("ls", "List the server's files (size, name)");
    std::string get_name, output;
    bool resume = false;
    course::cli::App* get_command = app.add_subcommand("get", "Download NAME");
    get_command->add_option("name", get_name, "The file's name on the server")->required();
    get_command->add_option("--output", output,
                            "Save as this path (default: NAME's last part, in this folder)");
    get_command->add_flag("--resume", resume,
                          "Continue from OUTPUT.part, and keep it if the transfer is cut");
    std::string put_path, put_as;
    course::cli::App* put_command = app.add_subcommand("put", "Upload FILE");
    put_command->add_option("file", put_path, "The local file to upload")->required();
    put_command->add_option("--as", put_as, "Store under this name (default: FILE's last part)");

    return course::run_main(app, argc, argv, [&]() -> int {
        static_cast<void>(
            std::signal(SIGXFSZ, SIG_IGN));  // a full disk or RLIMIT_FSIZE: write() reports EFBIG
        course::install_stop_handlers();     // Ctrl-C unwinds: .part files are removed
        std::string what;
        try {
            if (*ls_command) {
                what = "ls";
                return list(options);
            }
            if (*get_command) {
                what = "get " + get_name;
                return get(options, get_name, output, resume);
            }
            what = "put " + put_path;
            return put(options, put_path,
                       put_command->count("--as") > 0 ? std::optional(put_as) : std::nullopt);
        } catch (const course::StopRequested&) {
            std::cerr << what << ": interrupted\n";
            return 130;  // the job is not done: not a success
        } catch (const course::UsageError&) {
            throw;
        } catch (const std::exception& e) {
            throw std::runtime_error(what + ": " + e.what());  // "error: get a.bin: ..."
        }
    });
}
