// IDX readers, data set lookup and loading; the contract is in data.hpp.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "data/data.hpp"

namespace sweep::data {

namespace {

namespace fs = std::filesystem;

constexpr int kImageNdim = 3;                // count, rows, cols
constexpr int kLabelNdim = 1;                // count
constexpr uint8_t kUnsignedByteType = 0x08;  // IDX type code of the only element type we read
constexpr uint32_t kMaxImageSide = 4096;     // rows or cols above this mean a corrupt header
// Most bytes asked of one gzread call: zlib counts them in an int, so big reads must be split.
constexpr int64_t kReadChunkBytes = int64_t{1} << 20;
constexpr unsigned kGzipBufferBytes = 1u << 17;  // zlib's input buffer; its default is 8 KiB
// Memory reserved before any data has arrived; a header that promises more must prove it by
// delivering, so a corrupt count cannot make us allocate petabytes.
constexpr int64_t kMaxUpfrontBytes = int64_t{1} << 28;

const std::array<const char*, 10> kFashionMnistClassNames = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// Where `sweep data fetch` puts data sets unless told otherwise, relative to the working dir.
const char* const kDefaultDataRoot = "data";
// Where Debian's package dataset-fashion-mnist installs the four gzip files.
const char* const kDebianFashionMnistDir = "/usr/share/datasets/fashion-mnist";

std::string hex32(uint32_t value) {
    char text[11];
    std::snprintf(text, sizeof text, "0x%08x", static_cast<unsigned>(value));
    return text;
}

// An IDX file read through zlib, which passes raw content through and inflates content that
// starts with the gzip magic 1f 8b. Offsets count bytes of the uncompressed stream, the only
// offsets that mean anything in the IDX format. Bytes after the last gzip member are skipped
// by zlib unseen; the gzip CRC and length still vouch for the data itself.
class IdxStream {
public:
    explicit IdxStream(std::string path) : path_(std::move(path)) {
        errno = 0;
        file_ = gzopen(path_.c_str(), "rb");
        if (file_ == nullptr) {
            const int error_number = errno;
            throw DataError(path_ + ": cannot open: " +
                            (error_number != 0 ? std::generic_category().message(error_number)
                                               : std::string("out of memory")));
        }
        gzbuffer(file_, kGzipBufferBytes);
    }
    ~IdxStream() { gzclose(file_); }
    IdxStream(const IdxStream&) = delete;
    IdxStream& operator=(const IdxStream&) = delete;

    const std::string& path() const { return path_; }
    int64_t offset() const { return offset_; }

    // Reads up to `bytes` bytes and returns how many arrived; fewer means the data ended.
    int64_t read_some(uint8_t* destination, int64_t bytes) {
        int64_t got = 0;
        while (got < bytes) {
            const auto chunk = static_cast<unsigned>(std::min(bytes - got, kReadChunkBytes));
            const int arrived = gzread(file_, destination + got, chunk);
            if (arrived < 0) {
                throw_read_error();
            }
            got += arrived;
            offset_ += arrived;
            if (static_cast<unsigned>(arrived) < chunk) {
                break;
            }
        }
        return got;
    }

    // After a short read: " (gzip stream cut short)" when zlib hit the end of the file inside
    // a gzip member, "" when the content itself simply ended.
    std::string end_note() {
        int error_number = Z_OK;
        gzerror(file_, &error_number);
        return error_number == Z_BUF_ERROR ? " (gzip stream cut short)" : "";
    }

private:
    [[noreturn]] void throw_read_error() {
        int error_number = Z_OK;
        std::string message = gzerror(file_, &error_number);

        // zlib puts the path in front of its own message; ours already starts with it.
        const std::string prefix = path_ + ": ";
        if (message.compare(0, prefix.size(), prefix) == 0) {
            message.erase(0, prefix.size());
        }
        if (error_number == Z_ERRNO) {
            throw DataError(path_ + ": read error after byte " + std::to_string(offset_) + ": " +
                            message);
        }

        // zlib inflates well ahead of what we asked for, so the uncompressed offset says little
        // here; where inflate stopped in the file points at the damage.
        const z_off_t compressed_offset = gzoffset(file_);
        const std::string where = compressed_offset >= 0
                                      ? " at compressed byte " + std::to_string(compressed_offset)
                                      : " after byte " + std::to_string(offset_);
        throw DataError(path_ + ": corrupt gzip stream" + where + ": " + message);
    }

    std::string path_;
    gzFile file_ = nullptr;
    int64_t offset_ = 0;
};

void read_header_bytes(IdxStream& stream, uint8_t* destination, int64_t bytes) {
    if (stream.read_some(destination, bytes) == bytes) {
        return;
    }
    const std::string end_note = stream.end_note();
    if (stream.offset() == 0 && end_note.empty()) {
        throw DataError(stream.path() + ": empty file, expected an IDX header");
    }
    throw DataError(stream.path() + ": truncated at byte " + std::to_string(stream.offset()) +
                    " in the IDX header" + end_note);
}

// Reads the magic 0, 0, 0x08 (unsigned bytes), ndim and returns ndim. `wanted` lists the
// accepted ndim values and `kind` names them for the message, e.g. "IDX images".
int read_magic(IdxStream& stream, const std::vector<int>& wanted, const std::string& kind) {
    std::array<uint8_t, 4> bytes{};
    read_header_bytes(stream, bytes.data(), bytes.size());

    const int ndim = bytes[3];
    const bool known = std::find(wanted.begin(), wanted.end(), ndim) != wanted.end();
    if (bytes[0] == 0 && bytes[1] == 0 && bytes[2] == kUnsignedByteType && known) {
        return ndim;
    }
    const uint32_t magic = uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 |
                           uint32_t{bytes[2]} << 8 | uint32_t{bytes[3]};
    std::string expected;
    for (const int accepted : wanted) {
        expected += (expected.empty() ? "" : " or ") + hex32(kUnsignedByteType << 8 | accepted);
    }
    throw DataError(stream.path() + ": bad magic " + hex32(magic) + " at byte 0, expected " +
                    expected + " (" + kind + ")");
}

// Reads one big-endian dimension and checks it lies in [1, max]; `what` names it.
uint32_t read_dimension(IdxStream& stream, const char* what, uint32_t max) {
    const int64_t offset = stream.offset();
    std::array<uint8_t, 4> bytes{};
    read_header_bytes(stream, bytes.data(), bytes.size());

    const uint32_t value = uint32_t{bytes[0]} << 24 | uint32_t{bytes[1]} << 16 |
                           uint32_t{bytes[2]} << 8 | uint32_t{bytes[3]};
    if (value == 0 || value > max) {
        const std::string range = max == UINT32_MAX ? "at least 1" : "1 .. " + std::to_string(max);
        throw DataError(stream.path() + ": bad " + what + " " + std::to_string(value) +
                        " at byte " + std::to_string(offset) + ", expected " + range);
    }
    return value;
}

// Reads the `bytes` data bytes that follow the header straight into their final vector, then
// checks that nothing follows them.
std::vector<uint8_t> read_payload(IdxStream& stream, int64_t bytes) {
    const int64_t promised = stream.offset() + bytes;
    const auto throw_truncated = [&stream, promised]() {
        throw DataError(stream.path() + ": truncated at byte " + std::to_string(stream.offset()) +
                        ", header promises " + std::to_string(promised) + " bytes" +
                        stream.end_note());
    };

    std::vector<uint8_t> payload;
    payload.reserve(static_cast<size_t>(std::min(bytes, kMaxUpfrontBytes)));
    int64_t filled = 0;
    while (filled < bytes) {
        // Grow geometrically once past the reservation, so a huge promise costs memory only
        // in proportion to the data that actually arrives.
        const int64_t step = std::min(bytes - filled, std::max(filled, kReadChunkBytes));
        payload.resize(static_cast<size_t>(filled + step));
        if (stream.read_some(payload.data() + filled, step) < step) {
            throw_truncated();
        }
        filled += step;
    }

    uint8_t extra = 0;
    if (stream.read_some(&extra, 1) == 1) {
        throw DataError(stream.path() + ": trailing data at byte " + std::to_string(promised) +
                        ", header promises " + std::to_string(promised) + " bytes");
    }
    if (!stream.end_note().empty()) {
        throw DataError(stream.path() + ": truncated at byte " + std::to_string(promised) +
                        ", the end of the data, before the gzip trailer");
    }
    return payload;
}

// Checks that a split has exactly one label per image; the paths name the two files.
void check_counts_agree(const Split& split, const std::string& images_path,
                        const std::string& labels_path) {
    const auto label_count = static_cast<int64_t>(split.labels.size());
    if (split.images.count != label_count) {
        throw DataError(images_path + ": holds " + std::to_string(split.images.count) +
                        " images but " + labels_path + " holds " + std::to_string(label_count) +
                        " labels");
    }
}

// Keeps the first `limit` examples of a split when limit > 0; `limit_name` is the setting's
// name for the message.
void keep_first(Split& split, int64_t limit, const char* limit_name,
                const std::string& images_path) {
    if (limit <= 0) {
        return;
    }
    if (limit > split.images.count) {
        throw DataError(images_path + ": " + limit_name + " " + std::to_string(limit) +
                        " exceeds the " + std::to_string(split.images.count) +
                        " examples available");
    }
    split.images.count = limit;
    split.images.pixels.resize(static_cast<size_t>(limit * split.images.image_size()));
    split.images.pixels.shrink_to_fit();
    split.labels.resize(static_cast<size_t>(limit));
    split.labels.shrink_to_fit();
}

std::vector<std::string> class_names_of(const std::string& name, int class_count) {
    std::vector<std::string> names;
    if (name == "fashion-mnist") {
        names.assign(kFashionMnistClassNames.begin(), kFashionMnistClassNames.end());
        return names;
    }
    for (int label = 0; label < class_count; ++label) {
        names.push_back(std::to_string(label));
    }
    return names;
}

bool is_directory(const fs::path& path) {
    std::error_code ignored;  // unreadable counts as absent; the caller says where it looked
    return fs::is_directory(path, ignored);
}

}  // namespace

ImageSet read_idx_images(const std::string& path) {
    IdxStream stream(path);
    read_magic(stream, {kImageNdim}, "IDX images");

    ImageSet images;
    images.count = read_dimension(stream, "image count", UINT32_MAX);
    images.rows = static_cast<int>(read_dimension(stream, "row count", kMaxImageSide));
    images.cols = static_cast<int>(read_dimension(stream, "column count", kMaxImageSide));
    images.channels = 1;

    images.pixels = read_payload(stream, images.count * images.image_size());
    return images;
}

std::vector<uint8_t> read_idx_labels(const std::string& path, int class_count) {
    if (class_count < 1 || class_count > 256) {
        throw DataError(path + ": class count " + std::to_string(class_count) +
                        " cannot be held in byte labels, expected 1 .. 256");
    }
    IdxStream stream(path);
    read_magic(stream, {kLabelNdim}, "IDX labels");
    const int64_t count = read_dimension(stream, "label count", UINT32_MAX);
    const int64_t data_offset = stream.offset();

    std::vector<uint8_t> labels = read_payload(stream, count);
    for (size_t index = 0; index < labels.size(); ++index) {
        if (labels[index] >= class_count) {
            throw DataError(path + ": label " + std::to_string(labels[index]) + " at byte " +
                            std::to_string(data_offset + static_cast<int64_t>(index)) +
                            " is out of range 0 .. " + std::to_string(class_count - 1));
        }
    }
    return labels;
}

int64_t read_idx_count(const std::string& path) {
    IdxStream stream(path);
    read_magic(stream, {kLabelNdim, kImageNdim}, "IDX labels or images");
    return read_dimension(stream, "item count", UINT32_MAX);
}

IdxFiles find_idx_files(const std::string& dir) {
    const std::array<const char*, 4> names = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    std::array<std::string, 4> found;
    std::string missing;
    for (size_t index = 0; index < names.size(); ++index) {
        for (const char* suffix : {".gz", ""}) {
            const fs::path candidate = fs::path(dir) / (std::string(names[index]) + suffix);
            std::error_code ignored;
            if (fs::is_regular_file(candidate, ignored)) {
                found[index] = candidate.string();
                break;
            }
        }
        if (found[index].empty()) {
            missing += (missing.empty() ? "" : ", ") + std::string(names[index]) + "[.gz]";
        }
    }
    if (!missing.empty()) {
        throw DataError(dir + ": missing IDX files " + missing);
    }
    return IdxFiles{found[0], found[1], found[2], found[3]};
}

std::string locate(const std::string& name, const std::string& explicit_dir,
                   const std::string& search_root) {
    if (!explicit_dir.empty()) {
        if (!is_directory(explicit_dir)) {
            throw DataError(explicit_dir + ": data directory of " + name +
                            " does not exist or is not a directory");
        }
        return explicit_dir;
    }

    // Candidate roots in lookup order, each holding one directory per data set.
    std::vector<std::pair<std::string, std::string>> roots;  // root, where it came from
    if (!search_root.empty()) roots.emplace_back(search_root, "--data-dir");
    const char* env_dir = std::getenv("SWEEP_DATA_DIR");
    if (env_dir != nullptr && env_dir[0] != '\0') roots.emplace_back(env_dir, "SWEEP_DATA_DIR");
    roots.emplace_back(kDefaultDataRoot, "the default");

    std::vector<std::string> looked_in;
    for (const auto& [root, origin] : roots) {
        const std::string candidate = (fs::path(root) / name).string();
        if (is_directory(candidate)) return candidate;
        looked_in.push_back(candidate + " (" + origin + ")");
    }
    const bool is_fashion = name == "fashion-mnist";
    if (is_fashion) {
        if (is_directory(kDebianFashionMnistDir)) return kDebianFashionMnistDir;
        looked_in.push_back(std::string(kDebianFashionMnistDir) + " (Debian package)");
    }

    std::string message = name + ": data set not found; looked in: ";
    for (size_t index = 0; index < looked_in.size(); ++index) {
        message += (index == 0 ? "" : ", ") + looked_in[index];
    }
    message += "; get it with: sweep data fetch " + name + " --dir " +
               (search_root.empty() ? std::string(kDefaultDataRoot) : search_root);
    if (is_fashion) message += " (or install the Debian package dataset-fashion-mnist)";
    throw DataError(message);
}

Dataset load_idx_dataset(const std::string& name, const std::string& dir, int64_t train_limit,
                         int64_t test_limit) {
    const IdxFiles files = find_idx_files(dir);

    Dataset dataset;
    dataset.name = name;
    dataset.class_count = 10;
    dataset.class_names = class_names_of(name, dataset.class_count);
    dataset.train.images = read_idx_images(files.train_images);
    dataset.train.labels = read_idx_labels(files.train_labels, dataset.class_count);
    dataset.test.images = read_idx_images(files.test_images);
    dataset.test.labels = read_idx_labels(files.test_labels, dataset.class_count);

    check_counts_agree(dataset.train, files.train_images, files.train_labels);
    check_counts_agree(dataset.test, files.test_images, files.test_labels);
    const ImageSet& train = dataset.train.images;
    const ImageSet& test = dataset.test.images;
    if (train.rows != test.rows || train.cols != test.cols) {
        throw DataError(files.test_images + ": images are " + std::to_string(test.rows) + "x" +
                        std::to_string(test.cols) + " but " + files.train_images + " has " +
                        std::to_string(train.rows) + "x" + std::to_string(train.cols));
    }

    keep_first(dataset.train, train_limit, "train_limit", files.train_images);
    keep_first(dataset.test, test_limit, "test_limit", files.test_images);
    return dataset;
}

Normalization compute_normalization(const ImageSet& train_images) {
    const std::vector<uint8_t>& pixels = train_images.pixels;
    if (pixels.empty()) {
        throw DataError("normalization: the training images hold no pixels");
    }

    // Counting each byte value keeps the sums exact for any set size; floating point only
    // enters in the 256-term moments below.
    std::array<int64_t, 256> histogram{};
    for (const uint8_t pixel : pixels) {
        ++histogram[pixel];
    }

    const auto pixel_count = static_cast<double>(pixels.size());
    double sum = 0;
    for (int value = 0; value < 256; ++value) {
        sum += static_cast<double>(histogram[value]) * (value / 255.0);
    }
    const double mean = sum / pixel_count;

    double squared_deviations = 0;
    for (int value = 0; value < 256; ++value) {
        const double deviation = value / 255.0 - mean;
        squared_deviations += static_cast<double>(histogram[value]) * deviation * deviation;
    }
    // Population, not sample, deviation: every pixel of the split is in the sum.
    const double deviation = std::sqrt(squared_deviations / pixel_count);

    // Dividing by a zero spread would turn every input into NaN far from the cause.
    if (deviation == 0) {
        throw DataError("normalization: every training pixel is " + std::to_string(pixels.front()) +
                        ", so the standard deviation is 0");
    }
    return Normalization{mean, deviation};
}

}  // namespace sweep::data
