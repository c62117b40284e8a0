// course::open_root, open_inside, open_folder_inside and PartFileInside: names
// are confined to the root by the kernel's resolution, symlinks included.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "course/error.hpp"
#include "course/files.hpp"

namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

void write(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

// A scratch folder: root/ holds a.txt, sub/b.txt, two links that stay inside
// (one relative, one absolute) and two that point out; secret.txt sits beside root/.
class Files : public ::testing::Test {
  protected:
    void SetUp() override {
        char base[] = "/tmp/test_files.XXXXXX";
        ASSERT_NE(::mkdtemp(base), nullptr);
        dir_ = base;
        fs::create_directories(dir_ / "root" / "sub");
        write(dir_ / "secret.txt", "secret");
        write(dir_ / "root" / "a.txt", "a");
        write(dir_ / "root" / "sub" / "b.txt", "b");
        fs::create_symlink("sub/b.txt", dir_ / "root" / "inside");
        fs::create_symlink(dir_ / "root" / "a.txt", dir_ / "root" / "absolute");
        fs::create_symlink(dir_ / "secret.txt", dir_ / "root" / "out");
        fs::create_directory_symlink("..", dir_ / "root" / "up");
        root_ = course::open_root((dir_ / "root").string(), "root");
    }
    void TearDown() override { fs::remove_all(dir_); }

    // What open_inside gave for `name`: the file's text, or "refused" / "error".
    std::string open(const std::string& name) {
        try {
            const course::Fd file = course::open_inside(root_, name);
            char buffer[64];
            const ssize_t n = ::read(file.get(), buffer, sizeof buffer);
            return n < 0 ? "read failed" : std::string(buffer, static_cast<std::size_t>(n));
        } catch (const course::Refused&) {
            return "refused";
        } catch (const std::system_error&) {
            return "error";
        }
    }

    fs::path dir_;
    course::Root root_;
};

}  // namespace

TEST_F(Files, OpenRootResolvesThePathAndRefusesSlash) {
    EXPECT_EQ(root_.path, fs::canonical(dir_ / "root").string());
    EXPECT_THROW(course::open_root("/", "root /"), std::runtime_error);
    EXPECT_THROW(course::open_root((dir_ / "missing").string(), "root"), std::system_error);
    EXPECT_THROW(course::open_root((dir_ / "secret.txt").string(), "root"), std::system_error);
}

TEST_F(Files, OpenInsideServesFilesInsideTheRoot) {
    EXPECT_EQ(open("a.txt"), "a");
    EXPECT_EQ(open("sub/b.txt"), "b");
    EXPECT_EQ(open("./sub/../a.txt"), "a");  // ".." that stays inside is fine
    EXPECT_EQ(open("inside"), "b");          // so is a symlink that stays inside
    EXPECT_EQ(open("absolute"), "a");        // even an absolute one
    EXPECT_EQ(open("missing.txt"), "error");
}

TEST_F(Files, OpenInsideRefusesEveryWayOut) {
    for (const std::string& name : std::initializer_list<std::string>{
             "../secret.txt", "sub/../../secret.txt", "../root/a.txt",
             (dir_ / "secret.txt").string(), "out", "up/secret.txt", "", std::string("a.txt\0x", 7),
             "sub", "."})
        EXPECT_EQ(open(name), "refused") << name;
}

TEST_F(Files, OpenFolderInsideOpensFoldersOnly) {
    EXPECT_TRUE(course::open_folder_inside(root_, ".").valid());
    EXPECT_TRUE(course::open_folder_inside(root_, "sub").valid());
    EXPECT_THROW(course::open_folder_inside(root_, "a.txt"), course::Refused);
    EXPECT_THROW(course::open_folder_inside(root_, "up"), course::Refused);
    EXPECT_THROW(course::open_folder_inside(root_, ".."), course::Refused);
}

TEST_F(Files, PartFileInsideGetsItsNameOnlyWhenCommitted) {
    {
        course::PartFileInside part(root_, "sub/new.txt");
        part.write("new", 3);
        EXPECT_EQ(read(dir_ / "root" / "sub" / ".new.txt.part"), "new");
        EXPECT_FALSE(fs::exists(dir_ / "root" / "sub" / "new.txt"));
        const struct stat stored = part.commit();
        EXPECT_EQ(stored.st_size, 3);
    }
    EXPECT_EQ(read(dir_ / "root" / "sub" / "new.txt"), "new");
    EXPECT_FALSE(fs::exists(dir_ / "root" / "sub" / ".new.txt.part"));

    {
        course::PartFileInside part(root_, "a.txt");  // an older file stays until the commit
        part.write("half", 4);
    }
    EXPECT_EQ(read(dir_ / "root" / "a.txt"), "a");
    EXPECT_FALSE(fs::exists(dir_ / "root" / ".a.txt.part"));

    write(dir_ / "root" / ".c.part", "left by a crash");
    {
        course::PartFileInside part(root_, "c");
        part.write("c", 1);
        part.commit();
    }
    EXPECT_EQ(read(dir_ / "root" / "c"), "c");
}

TEST_F(Files, PartFileInsideRefusesNamesOutsideAndNonFiles) {
    const auto before = std::distance(fs::directory_iterator(dir_), {});
    for (const std::string& name :
         std::initializer_list<std::string>{"../x", "up/x", "out", (dir_ / "x").string(), "", ".",
                                            "sub/.", "sub/..", "sub/", "sub"})
        EXPECT_THROW(course::PartFileInside(root_, name), course::Refused) << name;
    EXPECT_THROW(course::PartFileInside(root_, "missing/x"), std::system_error);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_), {}), before);
    EXPECT_EQ(read(dir_ / "secret.txt"), "secret");
    EXPECT_FALSE(fs::exists(dir_ / "root" / ".x.part"));
}

TEST(WriteAll, NamesWhatFailed) {
    try {
        course::write_all(-1, "x", 1, "nowhere");
        FAIL() << "expected an exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("write nowhere: ", 0), 0u) << e.what();
    }
}
