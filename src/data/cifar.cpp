// CIFAR-10 reader (official binary version); the contract is in data.hpp.
#include <array>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "common/error.hpp"
#include "data/data.hpp"

namespace sweep::data {

namespace {

namespace fs = std::filesystem;

constexpr int kCifarChannels = 3;     // R, G, B planes, in that order
constexpr int kCifarSide = 32;        // rows and columns of every image
constexpr int kCifarClassCount = 10;  // labels 0 .. 9
constexpr int64_t kCifarImageBytes = int64_t{kCifarChannels} * kCifarSide * kCifarSide;
constexpr int64_t kCifarRecordBytes = 1 + kCifarImageBytes;  // the label byte, then the image

// The folder name inside the official archive, which users often point at instead.
const char* const kBatchesDirName = "cifar-10-batches-bin";
const std::array<const char*, 5> kTrainBatchNames = {"data_batch_1.bin", "data_batch_2.bin",
                                                     "data_batch_3.bin", "data_batch_4.bin",
                                                     "data_batch_5.bin"};
const char* const kTestBatchName = "test_batch.bin";
const char* const kClassNamesFile = "batches.meta.txt";

// The names the official batches.meta.txt holds, for copies that lack it.
const std::array<const char*, kCifarClassCount> kCifarClassNames = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
};

bool is_file(const fs::path& path) {
    std::error_code ignored;  // unreadable counts as absent; the caller lists what it lacks
    return fs::is_regular_file(path, ignored);
}

bool holds_any_batch(const fs::path& dir) {
    if (is_file(dir / kTestBatchName)) {
        return true;
    }
    for (const char* name : kTrainBatchNames) {
        if (is_file(dir / name)) {
            return true;
        }
    }
    return false;
}

// The directory that holds the batch files: dir itself when it holds any, else its
// cifar-10-batches-bin subfolder when that exists, else dir (whose error then lists all).
fs::path batches_dir_of(const std::string& dir) {
    const fs::path nested = fs::path(dir) / kBatchesDirName;
    std::error_code ignored;
    if (!holds_any_batch(dir) && fs::is_directory(nested, ignored)) {
        return nested;
    }
    return dir;
}

void check_batches_present(const std::string& dir, const fs::path& batches_dir) {
    std::string missing;
    for (const char* name : kTrainBatchNames) {
        if (!is_file(batches_dir / name)) {
            missing += (missing.empty() ? "" : ", ") + std::string(name);
        }
    }
    if (!is_file(batches_dir / kTestBatchName)) {
        missing += (missing.empty() ? "" : ", ") + std::string(kTestBatchName);
    }
    if (missing.empty()) {
        return;
    }
    std::string message = batches_dir.string() + ": missing CIFAR-10 files " + missing;
    if (batches_dir == fs::path(dir)) {
        message += " (also looked in " + (fs::path(dir) / kBatchesDirName).string() + ")";
    }
    throw DataError(message);
}

// Returns the size of a batch file after checking that it holds whole records only.
int64_t checked_batch_size(const std::string& path) {
    std::error_code error;
    const auto size = static_cast<int64_t>(fs::file_size(path, error));
    if (error) {
        throw DataError(path + ": cannot read: " + error.message());
    }
    if (size == 0) {
        throw DataError(path + ": empty file, expected CIFAR-10 records of " +
                        std::to_string(kCifarRecordBytes) + " bytes");
    }
    if (size % kCifarRecordBytes != 0) {
        throw DataError(path + ": size " + std::to_string(size) + " is not a multiple of " +
                        std::to_string(kCifarRecordBytes) + ", the record starting at byte " +
                        std::to_string(size - size % kCifarRecordBytes) + " is cut short");
    }
    return size;
}

// Appends the records of one batch file to `split`, whose images are 3 × 32 × 32. Reads
// straight into the split's vectors, so a whole training set is never held twice.
void append_batch(const std::string& path, Split& split) {
    const int64_t record_count = checked_batch_size(path) / kCifarRecordBytes;
    errno = 0;
    const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        throw DataError(path + ": cannot open: " + std::generic_category().message(errno));
    }

    const int64_t first = split.images.count;
    split.labels.resize(static_cast<size_t>(first + record_count));
    split.images.pixels.resize(static_cast<size_t>((first + record_count) * kCifarImageBytes));
    for (int64_t record = 0; record < record_count; ++record) {
        const int64_t offset = record * kCifarRecordBytes;
        uint8_t& label = split.labels[static_cast<size_t>(first + record)];
        uint8_t* pixels =
            split.images.pixels.data() + static_cast<size_t>((first + record) * kCifarImageBytes);
        const bool whole = std::fread(&label, 1, 1, file.get()) == 1 &&
                           std::fread(pixels, 1, kCifarImageBytes, file.get()) ==
                               static_cast<size_t>(kCifarImageBytes);
        if (!whole) {
            // The size was checked above, so only a read error or a file that shrank gets here.
            throw DataError(path + ": read error in the record at byte " + std::to_string(offset) +
                            ": " +
                            (std::ferror(file.get()) ? "i/o error" : "file shrank while read"));
        }
        if (label >= kCifarClassCount) {
            throw DataError(path + ": label " + std::to_string(label) + " at byte " +
                            std::to_string(offset) + " is out of range 0 .. " +
                            std::to_string(kCifarClassCount - 1));
        }
    }
    split.images.count = first + record_count;
}

Split empty_cifar_split() {
    Split split;
    split.images.channels = kCifarChannels;
    split.images.rows = kCifarSide;
    split.images.cols = kCifarSide;
    return split;
}

// Reads one class name a line; blank lines (the official file ends with one) are skipped.
std::vector<std::string> read_class_names(const fs::path& path) {
    std::ifstream in(path);
    if (!in) {
        throw DataError(path.string() + ": cannot open");
    }
    std::vector<std::string> names;
    std::string line;
    while (std::getline(in, line)) {
        const size_t end = line.find_last_not_of(" \t\r");
        if (end != std::string::npos) {
            names.push_back(line.substr(0, end + 1));
        }
    }
    if (in.bad()) {
        throw DataError(path.string() + ": read error");
    }
    if (names.size() != kCifarClassCount) {
        throw DataError(path.string() + ": holds " + std::to_string(names.size()) +
                        " class names, expected " + std::to_string(kCifarClassCount));
    }
    return names;
}

// Keeps the first `limit` examples when limit > 0; `limit_name` is the setting's name and
// `source` the file or directory the examples came from, both for the message.
void keep_first(Split& split, int64_t limit, const char* limit_name, const std::string& source) {
    if (limit <= 0) {
        return;
    }
    if (limit > split.images.count) {
        throw DataError(source + ": " + limit_name + " " + std::to_string(limit) + " exceeds the " +
                        std::to_string(split.images.count) + " examples available");
    }
    split.images.count = limit;
    split.images.pixels.resize(static_cast<size_t>(limit * split.images.image_size()));
    split.images.pixels.shrink_to_fit();
    split.labels.resize(static_cast<size_t>(limit));
    split.labels.shrink_to_fit();
}

}  // namespace

Split read_cifar_batch(const std::string& path) {
    Split split = empty_cifar_split();
    append_batch(path, split);
    return split;
}

std::vector<std::string> cifar10_files(const std::string& dir) {
    const fs::path batches_dir = batches_dir_of(dir);
    check_batches_present(dir, batches_dir);
    std::vector<std::string> files;
    for (const char* name : kTrainBatchNames) files.push_back((batches_dir / name).string());
    files.push_back((batches_dir / kTestBatchName).string());
    return files;
}

bool is_cifar_dir(const std::string& dir) {
    return holds_any_batch(dir) || holds_any_batch(fs::path(dir) / kBatchesDirName);
}

Dataset load_cifar10(const std::string& dir, int64_t train_limit, int64_t test_limit) {
    const fs::path batches_dir = batches_dir_of(dir);
    check_batches_present(dir, batches_dir);

    Dataset dataset;
    dataset.name = "cifar10";
    dataset.class_count = kCifarClassCount;
    const fs::path class_names_path = batches_dir / kClassNamesFile;
    if (is_file(class_names_path)) {
        dataset.class_names = read_class_names(class_names_path);
    } else {
        dataset.class_names.assign(kCifarClassNames.begin(), kCifarClassNames.end());
    }

    // Reserving the whole training split up front keeps the five appends from regrowing it.
    int64_t train_bytes = 0;
    for (const char* name : kTrainBatchNames) {
        train_bytes += checked_batch_size((batches_dir / name).string());
    }
    dataset.train = empty_cifar_split();
    dataset.train.labels.reserve(static_cast<size_t>(train_bytes / kCifarRecordBytes));
    dataset.train.images.pixels.reserve(
        static_cast<size_t>(train_bytes / kCifarRecordBytes * kCifarImageBytes));
    for (const char* name : kTrainBatchNames) {
        append_batch((batches_dir / name).string(), dataset.train);
    }
    const std::string test_path = (batches_dir / kTestBatchName).string();
    dataset.test = read_cifar_batch(test_path);

    keep_first(dataset.train, train_limit, "train_limit", batches_dir.string());
    keep_first(dataset.test, test_limit, "test_limit", test_path);
    return dataset;
}

}  // namespace sweep::data
