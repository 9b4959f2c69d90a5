// Owns downloading the official data set files and checking them against published checksums.
// Needs libcurl, OpenSSL's libcrypto and libarchive; reads no environment variable.
// Safe across threads for different directories; run it on one rank, never on every MPI rank.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace sweep::fetch {

enum class DigestKind { kMd5, kSha256 };

// One file of a data set: its name under the base URL and in the target directory, and the
// checksum published for it, in lower-case hex.
struct RemoteFile {
    std::string name;
    DigestKind digest_kind = DigestKind::kMd5;
    std::string checksum;
};

// Lower-case hex digest of bytes in memory, or of a whole file (DataError naming the file
// when it cannot be read). Throws DataError with OpenSSL's message when the digest is not
// available, e.g. MD5 under a FIPS-only OpenSSL.
std::string hex_digest(DigestKind kind, std::string_view bytes);
std::string file_hex_digest(DigestKind kind, const std::string& path);

// The data sets fetch_dataset knows: "mnist", "fashion-mnist", "cifar10".
std::vector<std::string> dataset_names();

// Where a data set's files live officially, and its files with their published checksums.
// Both throw DataError listing the known names for any other name.
std::string default_base_url(const std::string& name);
std::vector<RemoteFile> files_of(const std::string& name);

// Downloads data set `name` into `dir` (created when missing), verifies every file, and for
// cifar10 unpacks the archive to dir/cifar-10-batches-bin (the archive stays beside it).
// base_url_override, when not empty, replaces the official base URL: the URL of a folder
// holding the same file names (for cifar10, the folder holding cifar-10-binary.tar.gz). The
// command line fills it from $SWEEP_DATA_MIRROR; this module reads no environment. Progress
// lines go to `progress`. Throws DataError naming the URL or file and what went wrong.
void fetch_dataset(const std::string& name, const std::string& dir,
                   const std::string& base_url_override, std::ostream& progress);

// How long a transfer may hang before it fails; tests shorten them.
struct Timeouts {
    int64_t connect_seconds = 30;  // TCP and TLS handshake with the server
    int64_t stall_seconds = 60;    // a transfer slower than stall_bytes_per_second this long
    int64_t stall_bytes_per_second = 1024;
};

// Internal, public for tests only, which serve fixture files with their own checksums: use
// fetch_dataset. Downloads each file to a unique "<name>.<id>.part" in dir, checks it, then
// renames it to its final name, so a final name only ever holds a verified file. A file
// already there with the right checksum is skipped. On failure the .part file is removed.
void fetch_files(const std::vector<RemoteFile>& files, const std::string& base_url,
                 const std::string& dir, std::ostream& progress, const Timeouts& timeouts = {});

// Internal, public for tests only: unpacks a verified CIFAR-10 archive into a fresh folder of
// dir, then renames its cifar-10-batches-bin into dir. Accepts only regular files directly
// under cifar-10-batches-bin/, so no entry can write outside dir.
void unpack_cifar10(const std::string& archive_path, const std::string& dir,
                    std::ostream& progress);

}  // namespace sweep::fetch
