// filesystem.cpp: std::filesystem, Python's pathlib and os/shutil. Lesson 14
// writes a download under a temporary name and renames it only when complete.
//
//   g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror filesystem.cpp -o filesystem
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

namespace fs = std::filesystem;  // a short name for a long namespace

int main() {
    // A folder of our own under /tmp (the process id makes the name unique).
    fs::path folder = fs::temp_directory_path() / ("cpp-page-" + std::to_string(::getpid()));
    fs::create_directories(folder);

    fs::path part = folder / "a.txt.part";  // `/` joins paths, like pathlib
    {
        std::ofstream out(part, std::ios::binary);
        out << "hello\n";
    }  // the ofstream closes (and flushes) the file here: RAII again

    // rename() replaces the final name in one step: a reader sees the whole
    // file or none of it, never half.
    fs::path final_name = folder / part.stem();  // "a.txt": the name minus ".part"
    fs::rename(part, final_name);

    for (const fs::directory_entry& entry : fs::directory_iterator(folder))
        std::cout << entry.path().filename().string() << ": " << entry.file_size() << " bytes\n";

    // Errors: these functions throw fs::filesystem_error; with a
    // std::error_code argument they report into it instead.
    // file_size() is [[nodiscard]]: ignoring its result is a build error.
    std::error_code error;
    std::uintmax_t size = fs::file_size(folder / "missing", error);
    if (error)
        std::cout << "missing: " << error.message() << '\n';
    else
        std::cout << "missing: " << size << " bytes\n";

    fs::remove_all(folder);
    std::cout << "removed: " << std::boolalpha << !fs::exists(folder) << '\n';
    return 0;
}

// It prints:
// a.txt: 6 bytes
// missing: No such file or directory
// removed: true
