// Data set downloads, checksums and the CIFAR-10 unpacking; the contract is in fetch.hpp.
#include "fetch/fetch.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace sweep::fetch {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunkBytes = size_t{1} << 20;  // file reads for digests and unpacking
constexpr double kBytesPerMegabyte = 1e6;            // progress lines count decimal megabytes
constexpr double kProgressIntervalSeconds = 5;       // between two lines about one download
constexpr long kMaxRedirects = 5;                    // the official hosts redirect at most once
// Larger than any official file (CIFAR-10's archive is 170 MB), so a broken or hostile server
// cannot fill the disk.
constexpr curl_off_t kMaxDownloadBytes = curl_off_t{1} << 30;
constexpr int kPartNameAttempts = 100;  // unique .part names tried before giving up

const char* const kCifarName = "cifar10";
const char* const kCifarArchiveName = "cifar-10-binary.tar.gz";
const char* const kBatchesDirName = "cifar-10-batches-bin";
// The files a complete cifar-10-batches-bin holds; the archive adds readme.html.
const std::array<const char*, 7> kCifarFileNames = {
    "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
    "data_batch_5.bin", "test_batch.bin",   "batches.meta.txt"};

struct DatasetSource {
    const char* name;
    const char* base_url;
    std::vector<RemoteFile> files;
};

// The published sources and MD5 checksums; MNIST comes from the mirror torchvision uses.
const std::vector<DatasetSource>& dataset_sources() {
    static const std::vector<DatasetSource> sources = {
        {"mnist",
         "https://ossci-datasets.s3.amazonaws.com/mnist/",
         {{"train-images-idx3-ubyte.gz", DigestKind::kMd5, "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
          {"train-labels-idx1-ubyte.gz", DigestKind::kMd5, "d53e105ee54ea40749a09fcbcd1e9432"},
          {"t10k-images-idx3-ubyte.gz", DigestKind::kMd5, "9fb629c4189551a2d022fa330f9573f3"},
          {"t10k-labels-idx1-ubyte.gz", DigestKind::kMd5, "ec29112dd5afa0611ce80d1b7f02629c"}}},
        {"fashion-mnist",
         "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
         {{"train-images-idx3-ubyte.gz", DigestKind::kMd5, "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
          {"train-labels-idx1-ubyte.gz", DigestKind::kMd5, "25c81989df183df01b3e8a0aad5dffbe"},
          {"t10k-images-idx3-ubyte.gz", DigestKind::kMd5, "bef4ecab320f06d8554ea6380940ec79"},
          {"t10k-labels-idx1-ubyte.gz", DigestKind::kMd5, "bb300cfdad3c16e7a12a480ee83cd310"}}},
        {kCifarName,
         "https://www.cs.toronto.edu/~kriz/",
         {{kCifarArchiveName, DigestKind::kMd5, "c32a1d4ab5d03f1284b67883e8d87530"}}},
    };
    return sources;
}

const DatasetSource& source_of(const std::string& name) {
    for (const DatasetSource& source : dataset_sources()) {
        if (name == source.name) {
            return source;
        }
    }
    std::string known;
    for (const std::string& candidate : dataset_names()) {
        known += (known.empty() ? "" : ", ") + candidate;
    }
    throw DataError(name + ": unknown data set, expected one of " + known);
}

const char* digest_name(DigestKind kind) {
    return kind == DigestKind::kMd5 ? "md5" : "sha256";
}

std::string format_megabytes(double bytes) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MB", bytes / kBytesPerMegabyte);
    return text;
}

std::string format_rate(double bytes, double seconds) {
    char text[48];
    std::snprintf(text, sizeof text, "%.1f MB/s",
                  seconds > 0 ? bytes / kBytesPerMegabyte / seconds : 0.0);
    return text;
}

std::string errno_text(int error_number) {
    return std::generic_category().message(error_number);
}

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

// An open file descriptor, closed at scope exit unless close() checked its closing before.
class FileDescriptor {
public:
    FileDescriptor() = default;
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;

    int get() const { return fd_; }
    void reset(int fd) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }
    // Returns 0, or the errno of the failed close; the descriptor is gone either way.
    int close() {
        const int fd = std::exchange(fd_, -1);
        return ::close(fd) == 0 ? 0 : errno;
    }

private:
    int fd_ = -1;
};

// Writes all `count` bytes; returns 0, or the errno of the write that failed.
int write_all(int fd, const char* bytes, size_t count) {
    size_t written = 0;
    while (written < count) {
        const ssize_t result = write(fd, bytes + written, count - written);
        if (result < 0 && errno != EINTR) {
            return errno;
        }
        written += result > 0 ? static_cast<size_t>(result) : 0;
    }
    return 0;
}

// ---- digests --------------------------------------------------------------------------

// OpenSSL's oldest queued error, or `fallback` when it queued none; clears the queue.
std::string openssl_message(const char* fallback) {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) {
        return fallback;
    }
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    return text.data();
}

// A running digest over bytes fed in pieces; `subject` starts every error message.
class Digest {
public:
    Digest(DigestKind kind, std::string subject)
        : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free), subject_(std::move(subject)) {
        const EVP_MD* algorithm = kind == DigestKind::kMd5 ? EVP_md5() : EVP_sha256();
        if (!context_ || EVP_DigestInit_ex(context_.get(), algorithm, nullptr) != 1) {
            fail("EVP_DigestInit_ex", digest_name(kind));
        }
    }

    void update(const void* bytes, size_t count) {
        if (EVP_DigestUpdate(context_.get(), bytes, count) != 1) {
            fail("EVP_DigestUpdate", "failed");
        }
    }

    std::string hex() {
        std::array<unsigned char, EVP_MAX_MD_SIZE> value{};
        unsigned int length = 0;
        if (EVP_DigestFinal_ex(context_.get(), value.data(), &length) != 1) {
            fail("EVP_DigestFinal_ex", "failed");
        }
        static const char kHexDigits[] = "0123456789abcdef";
        std::string text;
        for (unsigned int index = 0; index < length; ++index) {
            text += kHexDigits[value[index] >> 4];
            text += kHexDigits[value[index] & 0x0f];
        }
        return text;
    }

private:
    [[noreturn]] void fail(const char* call, const char* fallback) {
        throw DataError(subject_ + ": " + call + ": " + openssl_message(fallback));
    }

    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
    std::string subject_;
};

// ---- downloads ------------------------------------------------------------------------

// curl_global_init is not safe to race with itself or with any other libcurl call.
void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, []() {
        const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (code != CURLE_OK) {
            throw DataError(std::string("curl_global_init: ") + curl_easy_strerror(code));
        }
    });
}

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

template <typename Value>
void set_option(CURL* curl, CURLoption option, Value value) {
    const CURLcode code = curl_easy_setopt(curl, option, value);
    if (code != CURLE_OK) {
        throw DataError("curl_easy_setopt: option " + std::to_string(option) + ": " +
                        curl_easy_strerror(code));
    }
}

// A new file with a name no other download uses; removed at scope exit unless renamed.
class PartFile {
public:
    PartFile(const fs::path& dir, const std::string& name) {
        static std::atomic<unsigned> serial{0};
        for (int attempt = 0; attempt < kPartNameAttempts && fd_.get() < 0; ++attempt) {
            path_ = dir / (name + "." + std::to_string(getpid()) + "-" + std::to_string(serial++) +
                           ".part");
            // 0666 so that the umask, not this code, decides who may read the data.
            fd_.reset(open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
            if (fd_.get() < 0 && errno != EEXIST) {
                throw DataError(path_.string() + ": cannot create: " + errno_text(errno));
            }
        }
        if (fd_.get() < 0) {
            throw DataError(path_.string() + ": cannot create: every candidate name is taken");
        }
    }
    ~PartFile() {
        if (!renamed_) {
            unlink(path_.c_str());
        }
    }
    PartFile(const PartFile&) = delete;
    PartFile& operator=(const PartFile&) = delete;

    const fs::path& path() const { return path_; }
    int fd() const { return fd_.get(); }

    // Flushes the data to disk before the rename, so a crash cannot leave the final name
    // pointing at a file whose blocks never arrived.
    void sync_and_close() {
        if (fsync(fd_.get()) != 0) {
            throw DataError(path_.string() + ": fsync: " + errno_text(errno));
        }
        if (const int error_number = fd_.close(); error_number != 0) {
            throw DataError(path_.string() + ": close: " + errno_text(error_number));
        }
    }

    void rename_to(const fs::path& final_path) {
        if (std::rename(path_.c_str(), final_path.c_str()) != 0) {
            throw DataError(path_.string() + ": cannot rename to " + final_path.string() + ": " +
                            errno_text(errno));
        }
        renamed_ = true;
    }

private:
    fs::path path_;
    FileDescriptor fd_;
    bool renamed_ = false;
};

// What the libcurl callbacks of one download share.
struct Transfer {
    std::string name;  // the file name, which starts each progress line
    int fd = -1;
    curl_off_t received = 0;
    int write_errno = 0;  // set when writing to the .part file failed
    bool too_large = false;
    Clock::time_point started = Clock::now();
    Clock::time_point last_report = Clock::now();
    std::ostream* progress = nullptr;
};

size_t write_to_part(char* bytes, size_t size, size_t count, void* user) {
    auto& transfer = *static_cast<Transfer*>(user);
    const size_t total = size * count;
    if (transfer.received + static_cast<curl_off_t>(total) > kMaxDownloadBytes) {
        transfer.too_large = true;
        return 0;
    }
    transfer.write_errno = write_all(transfer.fd, bytes, total);
    if (transfer.write_errno != 0) {
        return 0;  // libcurl then stops with CURLE_WRITE_ERROR
    }
    transfer.received += static_cast<curl_off_t>(total);
    return total;
}

int report_progress(void* user, curl_off_t expected, curl_off_t received, curl_off_t, curl_off_t) {
    auto& transfer = *static_cast<Transfer*>(user);
    const Clock::time_point now = Clock::now();
    if (std::chrono::duration<double>(now - transfer.last_report).count() <
        kProgressIntervalSeconds) {
        return 0;
    }
    transfer.last_report = now;
    const double seconds = std::chrono::duration<double>(now - transfer.started).count();
    const auto bytes = static_cast<double>(received);
    *transfer.progress << transfer.name << ": " << format_megabytes(bytes);
    if (expected > 0) {
        *transfer.progress << " of " << format_megabytes(static_cast<double>(expected));
    }
    *transfer.progress << " (" << format_rate(bytes, seconds) << ")\n" << std::flush;
    return 0;
}

void configure(CURL* curl, const std::string& url, const Timeouts& timeouts, Transfer& transfer,
               char* error_buffer) {
    set_option(curl, CURLOPT_URL, url.c_str());
    set_option(curl, CURLOPT_ERRORBUFFER, error_buffer);
    set_option(curl, CURLOPT_NOSIGNAL, 1L);  // timeouts must not rely on SIGALRM in threads
    set_option(curl, CURLOPT_FAILONERROR, 1L);
    set_option(curl, CURLOPT_FOLLOWLOCATION, 1L);
    set_option(curl, CURLOPT_MAXREDIRS, kMaxRedirects);
#if LIBCURL_VERSION_NUM >= 0x075500
    set_option(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    set_option(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    set_option(curl, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    set_option(curl, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    set_option(curl, CURLOPT_USERAGENT, "sweep-data-fetch");
    set_option(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(timeouts.connect_seconds));
    set_option(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(timeouts.stall_seconds));
    set_option(curl, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(timeouts.stall_bytes_per_second));
    set_option(curl, CURLOPT_WRITEFUNCTION, &write_to_part);
    set_option(curl, CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
    set_option(curl, CURLOPT_XFERINFOFUNCTION, &report_progress);
    set_option(curl, CURLOPT_XFERINFODATA, static_cast<void*>(&transfer));
    set_option(curl, CURLOPT_NOPROGRESS, 0L);
}

// Why a transfer that libcurl ended with `code` failed, in words for the user.
std::string failure_of(CURL* curl, CURLcode code, const Transfer& transfer,
                       const char* error_buffer) {
    if (code == CURLE_HTTP_RETURNED_ERROR) {
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        return "HTTP status " + std::to_string(status);
    }
    if (code == CURLE_WRITE_ERROR && transfer.write_errno != 0) {
        return "cannot write the .part file: " + errno_text(transfer.write_errno);
    }
    if (code == CURLE_WRITE_ERROR && transfer.too_large) {
        return "the server sent more than " +
               format_megabytes(static_cast<double>(kMaxDownloadBytes)) +
               ", more than any data set file";
    }
    std::string message = std::string("download failed: ") + curl_easy_strerror(code);
    if (error_buffer[0] != '\0') {
        message += " (" + std::string(error_buffer) + ")";
    }
    return message;
}

// Downloads url into the open .part file of `transfer` and says how it went on `progress`.
void download(const std::string& url, const Timeouts& timeouts, Transfer& transfer) {
    CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl) {
        throw DataError(url + ": curl_easy_init failed");
    }
    std::array<char, CURL_ERROR_SIZE> error_buffer{};
    configure(curl.get(), url, timeouts, transfer, error_buffer.data());

    *transfer.progress << transfer.name << ": downloading " << url << "\n" << std::flush;
    transfer.started = Clock::now();
    transfer.last_report = transfer.started;
    const CURLcode code = curl_easy_perform(curl.get());
    if (code != CURLE_OK) {
        throw DataError(url + ": " + failure_of(curl.get(), code, transfer, error_buffer.data()));
    }

    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300) {
        throw DataError(url + ": unexpected HTTP status " + std::to_string(status));
    }
}

// Downloads one file into dir unless it is already there with the right checksum.
void fetch_file(const RemoteFile& file, const std::string& base_url, const fs::path& dir,
                std::ostream& progress, const Timeouts& timeouts) {
    const fs::path final_path = dir / file.name;
    const char* kind = digest_name(file.digest_kind);
    std::error_code ignored;
    if (fs::is_regular_file(final_path, ignored)) {
        if (file_hex_digest(file.digest_kind, final_path.string()) == file.checksum) {
            progress << file.name << ": already present with the right " << kind
                     << " checksum, skipped\n";
            return;
        }
        progress << file.name << ": present but its " << kind
                 << " checksum differs, downloading it again\n";
    }

    const std::string url =
        base_url + (base_url.empty() || base_url.back() != '/' ? "/" : "") + file.name;
    PartFile part(dir, file.name);
    Transfer transfer;
    transfer.name = file.name;
    transfer.fd = part.fd();
    transfer.progress = &progress;
    download(url, timeouts, transfer);
    part.sync_and_close();
    const double seconds = std::chrono::duration<double>(Clock::now() - transfer.started).count();

    const std::string actual = file_hex_digest(file.digest_kind, part.path().string());
    if (actual != file.checksum) {
        throw DataError(url + ": " + kind + " checksum mismatch: expected " + file.checksum +
                        ", got " + actual + " (" + std::to_string(transfer.received) +
                        " bytes); the download was discarded");
    }
    part.rename_to(final_path);

    const auto bytes = static_cast<double>(transfer.received);
    char seconds_text[32];
    std::snprintf(seconds_text, sizeof seconds_text, "%.1f s", seconds);
    progress << file.name << ": " << format_megabytes(bytes) << " in " << seconds_text << " ("
             << format_rate(bytes, seconds) << "), " << kind << " ok\n"
             << std::flush;
}

// ---- CIFAR-10 archive -----------------------------------------------------------------

bool holds_all_cifar_files(const fs::path& batches_dir) {
    for (const char* name : kCifarFileNames) {
        std::error_code ignored;
        if (!fs::is_regular_file(batches_dir / name, ignored)) {
            return false;
        }
    }
    return true;
}

// Unpacking never merges into, or replaces, a folder that is already there.
void refuse_existing_target(const fs::path& target) {
    std::error_code ignored;
    if (fs::exists(target, ignored)) {
        throw DataError(target.string() +
                        ": already exists but is not a complete CIFAR-10 folder; remove it and "
                        "fetch again");
    }
}

// A fresh folder in `parent`, removed with everything in it at scope exit.
class ScratchDir {
public:
    explicit ScratchDir(const fs::path& parent) {
        // mkdtemp replaces the six trailing X with a unique suffix.
        std::string pattern = (parent / (".cifar-10-unpack-" + std::string(6, 'X'))).string();
        if (mkdtemp(pattern.data()) == nullptr) {
            throw DataError(pattern + ": cannot create: " + errno_text(errno));
        }
        path_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

using ArchiveHandle = std::unique_ptr<archive, decltype(&archive_read_free)>;

// The file name of an entry directly under cifar-10-batches-bin/, or "" for that folder's own
// entry; anything else (other folders, "..", absolute paths) is refused.
std::string entry_leaf(const std::string& archive_path, const std::string& entry, bool is_dir) {
    const std::string prefix = std::string(kBatchesDirName) + "/";
    if (is_dir && (entry == kBatchesDirName || entry == prefix)) {
        return "";
    }
    const std::string leaf =
        entry.compare(0, prefix.size(), prefix) == 0 ? entry.substr(prefix.size()) : std::string();
    if (is_dir || leaf.empty() || leaf == "." || leaf == ".." ||
        leaf.find('/') != std::string::npos) {
        throw DataError(archive_path + ": unexpected entry \"" + entry +
                        "\", expected only files in " + prefix);
    }
    return leaf;
}

std::string archive_message(archive* reader) {
    const char* message = archive_error_string(reader);
    return message != nullptr ? message : "failed without a message";
}

// Throws with libarchive's message unless `status` says the call worked (a warning is fine:
// it only says, e.g., that gzip runs as an external program).
void check_archive(int status, archive* reader, const std::string& archive_path, const char* call) {
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN) {
        throw DataError(archive_path + ": " + call + ": " + archive_message(reader));
    }
}

// Copies the data of the current entry of `reader` into a new file at `path`.
void extract_entry(archive* reader, const std::string& archive_path, const fs::path& path) {
    FileDescriptor fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
    if (fd.get() < 0) {
        throw DataError(path.string() + ": cannot create: " + errno_text(errno));
    }
    std::vector<char> buffer(kReadChunkBytes);
    for (;;) {
        const la_ssize_t got = archive_read_data(reader, buffer.data(), buffer.size());
        if (got < 0) {
            throw DataError(archive_path + ": archive_read_data: " + archive_message(reader));
        }
        if (got == 0) {
            break;
        }
        if (const int error_number = write_all(fd.get(), buffer.data(), static_cast<size_t>(got));
            error_number != 0) {
            throw DataError(path.string() + ": cannot write: " + errno_text(error_number));
        }
    }
    if (const int error_number = fd.close(); error_number != 0) {
        throw DataError(path.string() + ": close: " + errno_text(error_number));
    }
}

// Unpacks the files of cifar-10-batches-bin/ into scratch/cifar-10-batches-bin; returns how
// many there were.
int extract_cifar_files(const std::string& archive_path, const fs::path& scratch) {
    ArchiveHandle reader(archive_read_new(), &archive_read_free);
    if (!reader) {
        throw DataError(archive_path + ": archive_read_new failed");
    }
    check_archive(archive_read_support_filter_gzip(reader.get()), reader.get(), archive_path,
                  "archive_read_support_filter_gzip");
    check_archive(archive_read_support_format_tar(reader.get()), reader.get(), archive_path,
                  "archive_read_support_format_tar");
    check_archive(archive_read_open_filename(reader.get(), archive_path.c_str(), kReadChunkBytes),
                  reader.get(), archive_path, "archive_read_open_filename");

    const fs::path batches_dir = scratch / kBatchesDirName;
    std::error_code error;
    fs::create_directory(batches_dir, error);
    if (error) {
        throw DataError(batches_dir.string() + ": cannot create: " + error.message());
    }
    int extracted = 0;
    archive_entry* entry = nullptr;
    for (;;) {
        const int status = archive_read_next_header(reader.get(), &entry);
        if (status == ARCHIVE_EOF) {
            return extracted;
        }
        check_archive(status, reader.get(), archive_path, "archive_read_next_header");
        const char* name = archive_entry_pathname(entry);
        const std::string pathname = name != nullptr ? name : "";
        const mode_t type = archive_entry_filetype(entry);
        if (type != AE_IFREG && type != AE_IFDIR) {
            throw DataError(archive_path + ": unexpected entry \"" + pathname +
                            "\", neither a file nor a folder");
        }
        const std::string leaf = entry_leaf(archive_path, pathname, type == AE_IFDIR);
        if (!leaf.empty()) {
            extract_entry(reader.get(), archive_path, batches_dir / leaf);
            ++extracted;
        }
    }
}

}  // namespace

std::string hex_digest(DigestKind kind, std::string_view bytes) {
    Digest digest(kind, digest_name(kind));
    digest.update(bytes.data(), bytes.size());
    return digest.hex();
}

std::string file_hex_digest(DigestKind kind, const std::string& path) {
    errno = 0;
    const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        throw DataError(path + ": cannot open: " + errno_text(errno));
    }
    Digest digest(kind, path);
    std::vector<char> buffer(kReadChunkBytes);
    for (;;) {
        const size_t got = std::fread(buffer.data(), 1, buffer.size(), file.get());
        digest.update(buffer.data(), got);
        if (got < buffer.size()) {
            break;
        }
    }
    if (std::ferror(file.get())) {
        throw DataError(path + ": read error while computing its checksum");
    }
    return digest.hex();
}

std::vector<std::string> dataset_names() {
    std::vector<std::string> names;
    for (const DatasetSource& source : dataset_sources()) {
        names.emplace_back(source.name);
    }
    return names;
}

std::string default_base_url(const std::string& name) {
    return source_of(name).base_url;
}

std::vector<RemoteFile> files_of(const std::string& name) {
    return source_of(name).files;
}

void fetch_files(const std::vector<RemoteFile>& files, const std::string& base_url,
                 const std::string& dir, std::ostream& progress, const Timeouts& timeouts) {
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) {
        throw DataError(dir + ": cannot create: " + error.message());
    }
    init_curl_once();
    for (const RemoteFile& file : files) {
        fetch_file(file, base_url, dir, progress, timeouts);
    }
}

void unpack_cifar10(const std::string& archive_path, const std::string& dir,
                    std::ostream& progress) {
    const fs::path target = fs::path(dir) / kBatchesDirName;
    refuse_existing_target(target);

    // Unpacking beside the target makes the final rename atomic and on one file system, so
    // an interrupted run leaves either nothing or the whole folder under the final name.
    const ScratchDir scratch(dir);
    const int extracted = extract_cifar_files(archive_path, scratch.path());
    const fs::path unpacked = scratch.path() / kBatchesDirName;
    for (const char* name : kCifarFileNames) {
        std::error_code ignored;
        if (!fs::is_regular_file(unpacked / name, ignored)) {
            throw DataError(archive_path + ": holds no " + kBatchesDirName + "/" + name);
        }
    }

    if (std::rename(unpacked.c_str(), target.c_str()) != 0) {
        throw DataError(unpacked.string() + ": cannot rename to " + target.string() + ": " +
                        errno_text(errno));
    }
    progress << fs::path(archive_path).filename().string() << ": unpacked " << extracted
             << " files into " << target.string() << "\n"
             << std::flush;
}

void fetch_dataset(const std::string& name, const std::string& dir,
                   const std::string& base_url_override, std::ostream& progress) {
    const DatasetSource& source = source_of(name);
    const std::string base_url = base_url_override.empty() ? source.base_url : base_url_override;
    const bool is_cifar = name == kCifarName;

    const fs::path target = fs::path(dir) / kBatchesDirName;
    if (is_cifar) {
        if (holds_all_cifar_files(target)) {
            progress << target.string() << ": already present, skipped\n";
            return;
        }
        refuse_existing_target(target);  // before a 170 MB download, not after it
    }

    progress << name << ": fetching " << source.files.size() << " file"
             << (source.files.size() == 1 ? "" : "s") << " from " << base_url << " into " << dir
             << "\n";
    fetch_files(source.files, base_url, dir, progress);
    if (is_cifar) {
        unpack_cifar10((fs::path(dir) / kCifarArchiveName).string(), dir, progress);
    }
}

}  // namespace sweep::fetch
