// A progress bar on stderr, in the spirit of the seed's '\r' + '>' * n:
//
//   big.iso  42% [########............] 430.1 MiB / 1.0 GiB  812.3 MB/s  ETA 0:01
//
// On a terminal it is redrawn in place ('\r' goes back to the start of the
// line). Into a pipe or a file, a redrawn line would be a mess, so with
// --progress it prints a plain line every second instead; otherwise it is silent.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <utility>

namespace ftp {

class Progress {
  public:
    enum class Mode { off, terminal, lines };

    // The mode the contract asks for: a bar on a terminal, lines with --progress.
    static Mode choose(bool requested) {
        if (::isatty(STDERR_FILENO)) return Mode::terminal;
        return requested ? Mode::lines : Mode::off;
    }

    Progress(std::string label, std::uint64_t total, Mode mode, std::uint64_t already = 0)
        : label_(std::move(label)), total_(total), start_done_(already), mode_(mode) {}

    // Call as bytes go by; draws at most 10 times a second (terminal) or once a second (lines).
    void update(std::uint64_t done) {
        if (mode_ == Mode::off) return;
        const auto now = Clock::now();
        const auto interval = mode_ == Mode::terminal ? std::chrono::milliseconds(100)
                                                      : std::chrono::milliseconds(1000);
        if (done < total_ && now - last_draw_ < interval) return;
        last_draw_ = now;
        draw(done, now);
    }

    // The last draw, at 100%, and the end of the line.
    void finish() {
        if (mode_ == Mode::off || finished_) return;
        finished_ = true;
        draw(total_, Clock::now());
        if (mode_ == Mode::terminal) std::cerr << '\n';
    }

    // Leaves the terminal on a fresh line if the transfer stopped half-way.
    ~Progress() {
        if (mode_ == Mode::terminal && !finished_ && drawn_) std::cerr << '\n';
    }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

  private:
    using Clock = std::chrono::steady_clock;

    static std::string size_text(double bytes) {
        const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int unit = 0;
        while (bytes >= 1024 && unit < 4) {
            bytes /= 1024;
            ++unit;
        }
        char text[32];
        static_cast<void>(std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes,
                                        units[unit]));
        return text;
    }

    void draw(std::uint64_t done, Clock::time_point now) {
        drawn_ = true;
        const double seconds = std::chrono::duration<double>(now - started_).count();
        const double rate = seconds > 0 ? static_cast<double>(done - start_done_) / seconds : 0;
        const int percent = total_ == 0 ? 100 : static_cast<int>(done * 100 / total_);
        const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
        const int eta_s = static_cast<int>(std::lround(eta));

        char numbers[128];
        static_cast<void>(std::snprintf(numbers, sizeof numbers, "%s / %s  %.1f MB/s  ETA %d:%02d",
                                        size_text(static_cast<double>(done)).c_str(),
                                        size_text(static_cast<double>(total_)).c_str(), rate / 1e6,
                                        eta_s / 60, eta_s % 60));
        if (mode_ == Mode::terminal) {
            const int width = 20;
            const int filled = percent * width / 100;
            std::cerr << '\r' << label_ << ' ' << (percent < 100 ? " " : "")
                      << (percent < 10 ? " " : "") << percent << "% ["
                      << std::string(static_cast<std::size_t>(filled), '#')
                      << std::string(static_cast<std::size_t>(width - filled), '.') << "] "
                      << numbers << "\033[K" << std::flush;  // \033[K: erase the old line's tail
        } else {
            std::cerr << label_ << ": " << percent << "% " << numbers << '\n';
        }
    }

    std::string label_;
    std::uint64_t total_;
    std::uint64_t start_done_;
    Mode mode_;
    Clock::time_point started_ = Clock::now();
    Clock::time_point last_draw_{};
    bool drawn_ = false;
    bool finished_ = false;
};

}  // namespace ftp
