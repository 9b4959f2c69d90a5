// Owns the one scratch file per fuzzing process that carries each input to readers that take
// a path. Needs POSIX mkstemp; the file lives under /tmp and is removed at a normal exit.
// Not safe across threads: libFuzzer calls its targets from one thread.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace fuzz {

// Prints why the target cannot go on and aborts, which libFuzzer reports as a crash.
[[noreturn]] inline void die(const std::string& why) {
    std::fprintf(stderr, "fuzz target: %s\n", why.c_str());
    std::abort();
}

// The scratch file's path, made on first use. One fixed file keeps each input to one write;
// a new file per input would cost more than most inputs take to parse. A plain array outlives
// the exit handler that removes the file, which a std::string would not.
inline const char* scratch_path() {
    // mkstemp fills in the last six characters, which must be X.
    static char path[] = "/tmp/sweep-fuzz-\x58\x58\x58\x58\x58\x58";
    static const bool made = [] {
        const int descriptor = mkstemp(path);
        if (descriptor < 0) die("cannot create a scratch file under /tmp");
        close(descriptor);
        std::atexit([] { std::remove(path); });
        return true;
    }();
    static_cast<void>(made);
    return path;
}

// Replaces the scratch file's content with the input and returns its path.
inline std::string write_scratch_file(const uint8_t* data, size_t size) {
    const std::string path = scratch_path();
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) die(path + ": cannot open for writing");
    const bool written = std::fwrite(data, 1, size, file) == size;
    if (std::fclose(file) != 0 || !written) die(path + ": cannot write the input");
    return path;
}

// Aborts when a reader returned something its contract in data.hpp rules out.
inline void require(bool holds, const char* contract) {
    if (!holds) die(std::string("broken contract: ") + contract);
}

}  // namespace fuzz
