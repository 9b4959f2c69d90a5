// Tests of src/fetch against a local HTTP server (python3 -m http.server on 127.0.0.1 only):
// downloads, checksum failures, HTTP errors, stalls, skipping, and the CIFAR-10 unpacking.
#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>
#include "support.hpp"

#include "common/error.hpp"
#include "data/data.hpp"
#include "fetch/fetch.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
namespace fetch = sweep::fetch;
using Catch::Contains;
using sweep::DataError;

constexpr int kServerStartAttempts = 100;  // connection attempts, kServerStartPause apart
constexpr auto kServerStartPause = std::chrono::milliseconds(100);
constexpr int64_t kCifarRecordBytes = 1 + 3 * 32 * 32;

using sweep::testing::scrambled_bytes;
using sweep::testing::TempDir;

class Socket {
public:
    Socket() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) { REQUIRE(fd_ >= 0); }
    ~Socket() { close(fd_); }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    int fd() const { return fd_; }

private:
    int fd_;
};

sockaddr_in loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

// Binds `socket` to a port of 127.0.0.1 the kernel picks and returns that port.
int bind_any_port(const Socket& socket) {
    sockaddr_in address = loopback(0);
    REQUIRE(bind(socket.fd(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    socklen_t length = sizeof address;
    REQUIRE(getsockname(socket.fd(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
    return ntohs(address.sin_port);
}

// A port of 127.0.0.1 that nothing listened on a moment ago.
int free_port() {
    const Socket socket;
    return bind_any_port(socket);
}

bool accepts_connections(int port) {
    const Socket socket;
    const sockaddr_in address = loopback(port);
    return connect(socket.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

// libcurl honours http_proxy and friends; these requests must reach the local server itself.
void bypass_proxies_for_loopback() {
    setenv("no_proxy", "127.0.0.1", 1);
    setenv("NO_PROXY", "127.0.0.1", 1);
}

// python3's http.server serving one directory on 127.0.0.1, stopped by its pid at scope exit.
class LocalServer {
public:
    // Returns null when python3 cannot be started at all; then the caller skips its test.
    static std::unique_ptr<LocalServer> start(const std::string& directory) {
        bypass_proxies_for_loopback();
        const int port = free_port();
        const std::string port_text = std::to_string(port);
        std::vector<std::string> arguments = {"python3",   "-m",      "http.server", "--bind",
                                              "127.0.0.1", port_text, "--directory", directory};
        std::vector<char*> argv;
        for (std::string& argument : arguments) {
            argv.push_back(argument.data());
        }
        argv.push_back(nullptr);

        // The server logs every request; the test output has no use for that.
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        pid_t pid = -1;
        const int spawned = posix_spawnp(&pid, "python3", &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (spawned != 0) {
            return nullptr;
        }

        auto server = std::unique_ptr<LocalServer>(new LocalServer(pid, port));
        server->wait_until_ready();
        return server;
    }
    ~LocalServer() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
        }
    }
    LocalServer(const LocalServer&) = delete;
    LocalServer& operator=(const LocalServer&) = delete;

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

private:
    LocalServer(pid_t pid, int port) : pid_(pid), port_(port) {}

    void wait_until_ready() {
        for (int attempt = 0; attempt < kServerStartAttempts; ++attempt) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                FAIL("python3 -m http.server exited with status " << status << " on port "
                                                                  << port_);
            }
            if (accepts_connections(port_)) {
                return;
            }
            std::this_thread::sleep_for(kServerStartPause);
        }
        FAIL("python3 -m http.server did not accept connections on port " << port_);
    }

    pid_t pid_;
    int port_;
};

#define START_SERVER_OR_SKIP(server, directory)                                \
    const std::unique_ptr<LocalServer> server = LocalServer::start(directory); \
    if (!server) {                                                             \
        WARN("skipped: python3 cannot be started for a local HTTP server");    \
        return;                                                                \
    }

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    REQUIRE(out.good());
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> names;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
        names.push_back(entry.path().filename().string());
    }
    return names;
}

bool holds_part_file(const std::string& dir) {
    for (const std::string& name : names_in(dir)) {
        if (name.size() >= 5 && name.compare(name.size() - 5, 5, ".part") == 0) {
            return true;
        }
    }
    return false;
}

fetch::RemoteFile sha256_file(const std::string& name, const std::string& bytes) {
    return {name, fetch::DigestKind::kSha256, fetch::hex_digest(fetch::DigestKind::kSha256, bytes)};
}

// One CIFAR-10 batch of `count` records, labels cycling from `first_label`.
std::string cifar_batch(int count, int first_label) {
    std::string bytes;
    for (int record = 0; record < count; ++record) {
        bytes += static_cast<char>((first_label + record) % 10);
        bytes +=
            scrambled_bytes(kCifarRecordBytes - 1, static_cast<uint32_t>(first_label + record));
    }
    return bytes;
}

// Writes a tar.gz holding the given (path, content) files, plus folder entries for `folders`.
void write_tar_gz(const std::string& path, const std::vector<std::string>& folders,
                  const std::vector<std::pair<std::string, std::string>>& files) {
    const std::unique_ptr<archive, decltype(&archive_write_free)> writer(archive_write_new(),
                                                                         &archive_write_free);
    REQUIRE(writer);
    REQUIRE(archive_write_add_filter_gzip(writer.get()) == ARCHIVE_OK);
    REQUIRE(archive_write_set_format_pax_restricted(writer.get()) == ARCHIVE_OK);
    REQUIRE(archive_write_open_filename(writer.get(), path.c_str()) == ARCHIVE_OK);

    const auto add = [&writer](const std::string& name, mode_t type, const std::string& bytes) {
        const std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(
            archive_entry_new(), &archive_entry_free);
        archive_entry_set_pathname(entry.get(), name.c_str());
        archive_entry_set_filetype(entry.get(), type);
        archive_entry_set_perm(entry.get(), type == AE_IFDIR ? 0755 : 0644);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(bytes.size()));
        REQUIRE(archive_write_header(writer.get(), entry.get()) == ARCHIVE_OK);
        if (!bytes.empty()) {
            REQUIRE(archive_write_data(writer.get(), bytes.data(), bytes.size()) ==
                    static_cast<la_ssize_t>(bytes.size()));
        }
    };
    for (const std::string& folder : folders) {
        add(folder, AE_IFDIR, "");
    }
    for (const auto& [name, bytes] : files) {
        add(name, AE_IFREG, bytes);
    }
    REQUIRE(archive_write_close(writer.get()) == ARCHIVE_OK);
}

// The files of an official-looking archive: five training batches of 2 records, a test batch
// of 3, the class names and the readme the real archive also carries.
std::vector<std::pair<std::string, std::string>> cifar_archive_files() {
    std::vector<std::pair<std::string, std::string>> files;
    for (int batch = 1; batch <= 5; ++batch) {
        files.emplace_back("cifar-10-batches-bin/data_batch_" + std::to_string(batch) + ".bin",
                           cifar_batch(2, 2 * (batch - 1)));
    }
    files.emplace_back("cifar-10-batches-bin/test_batch.bin", cifar_batch(3, 5));
    files.emplace_back("cifar-10-batches-bin/batches.meta.txt",
                       "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
    files.emplace_back("cifar-10-batches-bin/readme.html", "<html></html>\n");
    return files;
}

}  // namespace

TEST_CASE("fetch: checksums match the published digests of \"abc\"", "[fetch]") {
    CHECK(fetch::hex_digest(fetch::DigestKind::kSha256, "abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(fetch::hex_digest(fetch::DigestKind::kMd5, "abc") == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(fetch::hex_digest(fetch::DigestKind::kMd5, "") == "d41d8cd98f00b204e9800998ecf8427e");

    // A file read in several chunks gives the digest of its bytes in memory.
    TempDir dir;
    const std::string bytes = scrambled_bytes((size_t{1} << 21) + 3, 5);
    write_file(dir.file("big"), bytes);
    CHECK(fetch::file_hex_digest(fetch::DigestKind::kSha256, dir.file("big")) ==
          fetch::hex_digest(fetch::DigestKind::kSha256, bytes));
    CHECK_THROWS_WITH(fetch::file_hex_digest(fetch::DigestKind::kMd5, dir.file("absent")),
                      Contains(dir.file("absent")));
}

TEST_CASE("fetch: the official file lists carry 32-digit MD5 checksums", "[fetch]") {
    CHECK(fetch::dataset_names() == std::vector<std::string>{"mnist", "fashion-mnist", "cifar10"});
    for (const std::string& name : fetch::dataset_names()) {
        const std::vector<fetch::RemoteFile> files = fetch::files_of(name);
        CHECK(files.size() == (name == "cifar10" ? 1u : 4u));
        for (const fetch::RemoteFile& file : files) {
            CHECK(file.digest_kind == fetch::DigestKind::kMd5);
            CHECK(file.checksum.size() == 32);
            CHECK(file.checksum.find_first_not_of("0123456789abcdef") == std::string::npos);
        }
        CHECK_THAT(fetch::default_base_url(name), Catch::StartsWith("http"));
    }
    CHECK(fetch::files_of("cifar10").front().name == "cifar-10-binary.tar.gz");
    CHECK_THROWS_WITH(fetch::files_of("imagenet"),
                      Contains("imagenet") && Contains("mnist, fashion-mnist, cifar10"));
}

TEST_CASE("fetch: a good download lands with the right bytes and no .part file left", "[fetch]") {
    TempDir served;
    TempDir target;
    const std::string bytes = scrambled_bytes(300000, 1);
    write_file(served.file("good.bin"), bytes);
    START_SERVER_OR_SKIP(server, served.path());

    std::ostringstream progress;
    fetch::fetch_files({sha256_file("good.bin", bytes)}, server->url(), target.path(), progress);
    CHECK(read_file(target.file("good.bin")) == bytes);
    CHECK(names_in(target.path()) == std::vector<std::string>{"good.bin"});
    CHECK_THAT(progress.str(), Contains("good.bin") && Contains("MB/s"));

    // A base URL without its final slash names the same folder; a missing dir is created.
    const std::string base = server->url().substr(0, server->url().size() - 1);
    fetch::fetch_files({sha256_file("good.bin", bytes)}, base, target.file("new/sub"), progress);
    CHECK(read_file(target.file("new/sub/good.bin")) == bytes);
}

TEST_CASE("fetch: a checksum mismatch throws and leaves neither the file nor a .part", "[fetch]") {
    TempDir served;
    TempDir target;
    write_file(served.file("data.bin"), scrambled_bytes(5000, 2));
    START_SERVER_OR_SKIP(server, served.path());

    const fetch::RemoteFile expected = sha256_file("data.bin", scrambled_bytes(5000, 3));
    const std::string actual =
        fetch::hex_digest(fetch::DigestKind::kSha256, scrambled_bytes(5000, 2));
    std::ostringstream progress;
    CHECK_THROWS_WITH(fetch::fetch_files({expected}, server->url(), target.path(), progress),
                      Contains(server->url() + "data.bin") && Contains("checksum") &&
                          Contains(expected.checksum) && Contains(actual));
    CHECK(names_in(target.path()).empty());
}

TEST_CASE("fetch: an HTTP error throws naming the URL and the status", "[fetch]") {
    TempDir served;
    TempDir target;
    START_SERVER_OR_SKIP(server, served.path());

    std::ostringstream progress;
    CHECK_THROWS_WITH(fetch::fetch_files({sha256_file("missing.bin", "x")}, server->url(),
                                         target.path(), progress),
                      Contains(server->url() + "missing.bin") && Contains("HTTP status 404"));
    CHECK(names_in(target.path()).empty());
}

TEST_CASE("fetch: a file already present with the right checksum is not downloaded again",
          "[fetch]") {
    TempDir served;
    TempDir target;
    const std::string bytes = scrambled_bytes(4000, 4);
    write_file(served.file("kept.bin"), bytes);
    const fetch::RemoteFile file = sha256_file("kept.bin", bytes);
    {
        START_SERVER_OR_SKIP(server, served.path());
        std::ostringstream progress;
        fetch::fetch_files({file}, server->url(), target.path(), progress);
    }

    // The server is gone, so only a skip can succeed.
    std::ostringstream progress;
    const std::string dead_url = "http://127.0.0.1:" + std::to_string(free_port()) + "/";
    fetch::fetch_files({file}, dead_url, target.path(), progress);
    CHECK_THAT(progress.str(), Contains("kept.bin") && Contains("skipped"));
    CHECK(read_file(target.file("kept.bin")) == bytes);

    // A damaged copy is fetched again and replaced.
    write_file(target.file("kept.bin"), "damaged");
    START_SERVER_OR_SKIP(server, served.path());
    fetch::fetch_files({file}, server->url(), target.path(), progress);
    CHECK_THAT(progress.str(), Contains("checksum differs"));
    CHECK(read_file(target.file("kept.bin")) == bytes);
    CHECK_FALSE(holds_part_file(target.path()));
}

TEST_CASE("fetch: a refused connection and a silent server fail in bounded time", "[fetch]") {
    bypass_proxies_for_loopback();
    TempDir target;
    const fetch::RemoteFile file = sha256_file("never.bin", "x");
    const fetch::Timeouts timeouts{2, 1, 1024};
    std::ostringstream progress;

    const std::string refused_url = "http://127.0.0.1:" + std::to_string(free_port()) + "/";
    CHECK_THROWS_WITH(fetch::fetch_files({file}, refused_url, target.path(), progress, timeouts),
                      Contains(refused_url + "never.bin") && Contains("download failed"));

    // A listening socket that never accepts: the kernel completes the handshake, nobody answers.
    const Socket listener;
    const int port = bind_any_port(listener);
    REQUIRE(listen(listener.fd(), 4) == 0);
    const std::string silent_url = "http://127.0.0.1:" + std::to_string(port) + "/";
    const auto started = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(fetch::fetch_files({file}, silent_url, target.path(), progress, timeouts),
                      Contains(silent_url + "never.bin") && Contains("download failed"));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
    CHECK(names_in(target.path()).empty());
}

TEST_CASE("fetch: a mirror override replaces the official base URL of a data set", "[fetch]") {
    TempDir served;
    TempDir target;
    write_file(served.file("train-images-idx3-ubyte.gz"), "not the real file");
    START_SERVER_OR_SKIP(server, served.path());

    // The published MD5 cannot match, which proves the request went to the override.
    std::ostringstream progress;
    CHECK_THROWS_WITH(fetch::fetch_dataset("mnist", target.path(), server->url(), progress),
                      Contains(server->url() + "train-images-idx3-ubyte.gz") &&
                          Contains("checksum") && Contains("f68b3c2dcbeaaa9fbdd348bbdeb94873"));
    CHECK(names_in(target.path()).empty());
    CHECK_THROWS_AS(fetch::fetch_dataset("imagenet", target.path(), server->url(), progress),
                    DataError);
}

TEST_CASE("fetch: a CIFAR-10 archive unpacks into a folder that load_cifar10 reads", "[fetch]") {
    TempDir served;
    TempDir target;
    write_tar_gz(served.file("cifar-10-binary.tar.gz"), {"cifar-10-batches-bin"},
                 cifar_archive_files());
    const std::string archive_bytes = read_file(served.file("cifar-10-binary.tar.gz"));
    const fetch::RemoteFile archive_file{"cifar-10-binary.tar.gz", fetch::DigestKind::kMd5,
                                         fetch::hex_digest(fetch::DigestKind::kMd5, archive_bytes)};
    START_SERVER_OR_SKIP(server, served.path());

    std::ostringstream progress;
    fetch::fetch_files({archive_file}, server->url(), target.path(), progress);
    fetch::unpack_cifar10(target.file("cifar-10-binary.tar.gz"), target.path(), progress);
    CHECK_THAT(progress.str(), Contains("unpacked 8 files"));

    // Nothing but the archive and the final folder: the scratch folder is gone.
    std::vector<std::string> names = names_in(target.path());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"cifar-10-batches-bin", "cifar-10-binary.tar.gz"});
    const sweep::data::Dataset dataset = sweep::data::load_cifar10(target.path(), 0, 0);
    CHECK(dataset.train.images.count == 10);
    CHECK(dataset.train.labels == std::vector<uint8_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    CHECK(dataset.test.images.count == 3);

    // A second unpack never merges into the folder; fetch_dataset sees it complete and skips,
    // without contacting the (dead) base URL.
    CHECK_THROWS_WITH(
        fetch::unpack_cifar10(target.file("cifar-10-binary.tar.gz"), target.path(), progress),
        Contains("already exists"));
    const std::string dead_url = "http://127.0.0.1:" + std::to_string(free_port()) + "/";
    fetch::fetch_dataset("cifar10", target.path(), dead_url, progress);
    CHECK_THAT(progress.str(), Contains("already present, skipped"));
}

TEST_CASE("fetch: a CIFAR-10 archive entry outside cifar-10-batches-bin is refused", "[fetch]") {
    TempDir dir;
    for (const char* bad_name : {"cifar-10-batches-bin/../escaped.bin", "escaped.bin",
                                 "/tmp/escaped.bin", "cifar-10-batches-bin/sub/escaped.bin"}) {
        std::vector<std::pair<std::string, std::string>> files = cifar_archive_files();
        files.emplace_back(bad_name, "payload");
        const std::string archive_path = dir.file("bad.tar.gz");
        write_tar_gz(archive_path, {"cifar-10-batches-bin"}, files);

        std::ostringstream progress;
        CHECK_THROWS_WITH(fetch::unpack_cifar10(archive_path, dir.path(), progress),
                          Contains(archive_path) && Contains("unexpected entry"));
        CHECK(names_in(dir.path()) == std::vector<std::string>{"bad.tar.gz"});
        fs::remove(archive_path);
    }
    CHECK_FALSE(fs::exists(fs::path(dir.path()).parent_path() / "escaped.bin"));

    // An archive without the test batch is refused too, leaving nothing behind.
    std::vector<std::pair<std::string, std::string>> files = cifar_archive_files();
    files.erase(files.begin() + 5);
    write_tar_gz(dir.file("short.tar.gz"), {}, files);
    std::ostringstream progress;
    CHECK_THROWS_WITH(fetch::unpack_cifar10(dir.file("short.tar.gz"), dir.path(), progress),
                      Contains("test_batch.bin"));
    CHECK(names_in(dir.path()) == std::vector<std::string>{"short.tar.gz"});
}
