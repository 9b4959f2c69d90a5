// Helpers shared by the test files: scratch directories and the files in them.
// Needs only the standard library and POSIX getpid. Not shared across threads.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace sweep::testing {

// A fresh directory under the system temporary directory, removed with its files at scope exit.
class TempDir {
public:
    TempDir() {
        static int serial = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("sweep-test-" + std::to_string(getpid()) + "-" + std::to_string(serial++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string path() const { return path_.string(); }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

// A TempDir that also writes files: the end-to-end tests keep their study files there.
class Scratch : public TempDir {
public:
    std::filesystem::path dir = path();

    std::filesystem::path write(const std::string& name, const std::string& text) const {
        std::ofstream(dir / name) << text;
        return dir / name;
    }
};

// Bytes that look random and do not compress away, the same for the same seed: a cut gzip
// file made of them is cut inside its data. A linear congruential generator's top bytes.
inline std::string scrambled_bytes(size_t count, uint32_t seed) {
    std::string bytes(count, '\0');
    uint32_t state = seed;
    for (char& byte : bytes) {
        state = state * 1664525u + 1013904223u;
        byte = static_cast<char>(state >> 24);
    }
    return bytes;
}

}  // namespace sweep::testing
