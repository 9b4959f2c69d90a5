#include "store/store.hpp"

#include <fmt/format.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "common/broadcast.hpp"
#include "common/error.hpp"

namespace sweep::store {
namespace {

// Layout version written to the root attribute "format"; bump when the layout changes.
// 2 added local_rank and visible_devices to /outcomes.
constexpr const char* kFormat = "sweep-results-2";
// Attributes live in the object header, whose limit is 64 KiB; keep room for the others.
constexpr size_t kMaxAttributeBytes = 60000;

constexpr size_t kIdBytes = 17;  // 16 hex digits and a terminating zero
constexpr size_t kNameBytes = 32;
constexpr size_t kHostBytes = 64;
constexpr size_t kErrorBytes = 256;
constexpr size_t kVisibleBytes = 256;  // CUDA_VISIBLE_DEVICES: up to 6 GPU UUIDs

// ---- error handling: every call is checked and throws with HDF5's own message ----

herr_t collect_message(unsigned depth, const H5E_error2_t* entry, void* out) {
    auto* text = static_cast<std::string*>(out);
    if (depth == 0) *text = entry->desc ? entry->desc : "";  // the innermost cause
    return 0;
}

std::string hdf5_message() {
    std::string text;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect_message, &text);
    return text.empty() ? "no detail from HDF5" : text;
}

// Says so when a call failed because the file system holding `path` is full: HDF5 reports
// only "file write failed", and MPI-IO may keep the errno to itself, so the free space is
// asked too. "" when neither points at space.
std::string space_problem(const std::string& path, int error_number) {
    if (error_number == ENOSPC) return "no space left on device";
    if (error_number == EDQUOT) return "disk quota exceeded";
    std::error_code ignored;
    const std::string dir = std::filesystem::absolute(path, ignored).parent_path().string();
    struct statvfs room {};
    if (statvfs(dir.c_str(), &room) == 0 && room.f_bavail == 0) return "no space left on device";
    return "";
}

[[noreturn]] void fail(const std::string& path, const char* call) {
    const int error_number = errno;  // before HDF5's error walk can change it
    const std::string message = hdf5_message();
    const std::string space = space_problem(path, error_number);
    if (!space.empty()) {
        throw StoreError(
            fmt::format("{}: {} failed: {}: {}; units done so far are kept: free "
                        "some space and rerun the same command to resume",
                        path, call, message, space));
    }
    // HDF5 locks files it opens; NFS without lockd answers errno 37 (ENOLCK).
    // Not a bare "lock": HDF5's "superblock" contains it.
    const bool locking = error_number == ENOLCK ||
                         message.find("lock the file") != std::string::npos ||
                         message.find("file locking") != std::string::npos;
    throw StoreError(fmt::format("{}: {} failed: {}{}", path, call, message,
                                 locking ? "; on a file system without locks (NFS) set "
                                           "HDF5_USE_FILE_LOCKING=FALSE and run again"
                                         : ""));
}

hid_t check(hid_t id, const std::string& path, const char* call) {
    if (id < 0) fail(path, call);
    return id;
}

void check(herr_t status, const std::string& path, const char* call) {
    if (status < 0) fail(path, call);
}

// Owns one HDF5 identifier and closes it with the matching H5?close.
class Handle {
public:
    Handle() = default;
    Handle(hid_t id, herr_t (*closer)(hid_t)) : id_(id), closer_(closer) {}
    Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
    Handle& operator=(Handle&& other) noexcept {
        std::swap(id_, other.id_);
        std::swap(closer_, other.closer_);
        return *this;
    }
    ~Handle() {
        if (id_ >= 0) closer_(id_);
    }
    hid_t get() const { return id_; }

private:
    hid_t id_ = -1;
    herr_t (*closer_)(hid_t) = nullptr;
};

void silence_hdf5_printing() {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

// ---- memory layouts of the compound tables ----

struct UnitRow {
    int64_t index;
    char id[kIdBytes];
    char dataset[kNameBytes];
    char optimizer[kNameBytes];
    double lr, gamma, momentum, epsilon;
    int64_t epochs, batch_size, test_batch_size, train_size, test_size, seed;
};

struct OutcomeRow {
    double final_test_accuracy, final_test_loss, seconds;
    int32_t rank, local_rank;
    char host[kHostBytes];
    char device[kNameBytes];
    char visible_devices[kVisibleBytes];
    char error[kErrorBytes];
};

Handle string_type(size_t bytes) {
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), bytes);
    H5Tset_strpad(type.get(), H5T_STR_NULLTERM);
    H5Tset_cset(type.get(), H5T_CSET_UTF8);
    return type;
}

#define SWEEP_MEMBER(type_id, Row, field, member_type) \
    H5Tinsert(type_id, #field, HOFFSET(Row, field), member_type)

Handle unit_row_type() {
    Handle type(H5Tcreate(H5T_COMPOUND, sizeof(UnitRow)), H5Tclose);
    const hid_t t = type.get();
    Handle id = string_type(kIdBytes), name = string_type(kNameBytes);
    SWEEP_MEMBER(t, UnitRow, index, H5T_NATIVE_INT64);
    SWEEP_MEMBER(t, UnitRow, id, id.get());
    SWEEP_MEMBER(t, UnitRow, dataset, name.get());
    SWEEP_MEMBER(t, UnitRow, optimizer, name.get());
    SWEEP_MEMBER(t, UnitRow, lr, H5T_NATIVE_DOUBLE);
    SWEEP_MEMBER(t, UnitRow, gamma, H5T_NATIVE_DOUBLE);
    SWEEP_MEMBER(t, UnitRow, momentum, H5T_NATIVE_DOUBLE);
    SWEEP_MEMBER(t, UnitRow, epsilon, H5T_NATIVE_DOUBLE);
    SWEEP_MEMBER(t, UnitRow, epochs, H5T_NATIVE_INT64);
    SWEEP_MEMBER(t, UnitRow, batch_size, H5T_NATIVE_INT64);
    SWEEP_MEMBER(t, UnitRow, test_batch_size, H5T_NATIVE_INT64);
    SWEEP_MEMBER(t, UnitRow, train_size, H5T_NATIVE_INT64);
    SWEEP_MEMBER(t, UnitRow, test_size, H5T_NATIVE_INT64);
    SWEEP_MEMBER(t, UnitRow, seed, H5T_NATIVE_INT64);
    return type;
}

Handle outcome_row_type() {
    Handle type(H5Tcreate(H5T_COMPOUND, sizeof(OutcomeRow)), H5Tclose);
    const hid_t t = type.get();
    Handle host = string_type(kHostBytes), name = string_type(kNameBytes),
           visible = string_type(kVisibleBytes), error = string_type(kErrorBytes);
    SWEEP_MEMBER(t, OutcomeRow, final_test_accuracy, H5T_NATIVE_DOUBLE);
    SWEEP_MEMBER(t, OutcomeRow, final_test_loss, H5T_NATIVE_DOUBLE);
    SWEEP_MEMBER(t, OutcomeRow, seconds, H5T_NATIVE_DOUBLE);
    SWEEP_MEMBER(t, OutcomeRow, rank, H5T_NATIVE_INT32);
    SWEEP_MEMBER(t, OutcomeRow, local_rank, H5T_NATIVE_INT32);
    SWEEP_MEMBER(t, OutcomeRow, host, host.get());
    SWEEP_MEMBER(t, OutcomeRow, device, name.get());
    SWEEP_MEMBER(t, OutcomeRow, visible_devices, visible.get());
    SWEEP_MEMBER(t, OutcomeRow, error, error.get());
    return type;
}

Handle curve_row_type() {
    using train::EpochRecord;
    Handle type(H5Tcreate(H5T_COMPOUND, sizeof(EpochRecord)), H5Tclose);
    const hid_t t = type.get();
    SWEEP_MEMBER(t, EpochRecord, epoch, H5T_NATIVE_INT64);
    SWEEP_MEMBER(t, EpochRecord, train_loss, H5T_NATIVE_DOUBLE);
    SWEEP_MEMBER(t, EpochRecord, train_accuracy, H5T_NATIVE_DOUBLE);
    SWEEP_MEMBER(t, EpochRecord, test_loss, H5T_NATIVE_DOUBLE);
    SWEEP_MEMBER(t, EpochRecord, test_accuracy, H5T_NATIVE_DOUBLE);
    SWEEP_MEMBER(t, EpochRecord, lr, H5T_NATIVE_DOUBLE);
    SWEEP_MEMBER(t, EpochRecord, seconds, H5T_NATIVE_DOUBLE);
    return type;
}

#undef SWEEP_MEMBER

Handle status_type() {
    Handle type(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose);
    for (Status status : {Status::kPending, Status::kDone, Status::kFailed}) {
        const int8_t value = static_cast<int8_t>(status);
        H5Tenum_insert(type.get(), status_name(status), &value);
    }
    return type;
}

void copy_text(char* destination, size_t capacity, const std::string& text) {
    const size_t length = std::min(capacity - 1, text.size());
    std::memcpy(destination, text.data(), length);
    std::memset(destination + length, 0, capacity - length);
}

UnitRow to_row(const plan::Unit& unit) {
    UnitRow row{};
    row.index = unit.index;
    copy_text(row.id, kIdBytes, unit.id());
    copy_text(row.dataset, kNameBytes, unit.dataset);
    copy_text(row.optimizer, kNameBytes, unit.optimizer);
    row.lr = unit.lr;
    row.gamma = unit.gamma;
    row.momentum = unit.momentum;
    row.epsilon = unit.epsilon;
    row.epochs = unit.epochs;
    row.batch_size = unit.batch_size;
    row.test_batch_size = unit.test_batch_size;
    row.train_size = unit.train_size;
    row.test_size = unit.test_size;
    row.seed = unit.seed;
    return row;
}

plan::Unit from_row(const UnitRow& row) {
    plan::Unit unit;
    unit.index = row.index;
    unit.dataset = row.dataset;
    unit.optimizer = row.optimizer;
    unit.lr = row.lr;
    unit.gamma = row.gamma;
    unit.momentum = row.momentum;
    unit.epsilon = row.epsilon;
    unit.epochs = row.epochs;
    unit.batch_size = row.batch_size;
    unit.test_batch_size = row.test_batch_size;
    unit.train_size = row.train_size;
    unit.test_size = row.test_size;
    unit.seed = row.seed;
    return unit;
}

OutcomeRow to_row(const Outcome& outcome) {
    OutcomeRow row{};
    row.final_test_accuracy = outcome.final_test_accuracy;
    row.final_test_loss = outcome.final_test_loss;
    row.seconds = outcome.seconds;
    row.rank = outcome.rank;
    row.local_rank = outcome.local_rank;
    copy_text(row.host, kHostBytes, outcome.host);
    copy_text(row.device, kNameBytes, outcome.device);
    copy_text(row.visible_devices, kVisibleBytes, outcome.visible_devices);
    copy_text(row.error, kErrorBytes, outcome.error);
    return row;
}

// ---- small helpers over the C API ----

std::string unit_group(int64_t index) {
    return fmt::format("/unit/{:06d}", index);
}

void write_string_attribute(hid_t object, const std::string& name, const std::string& value,
                            const std::string& path) {
    if (value.size() > kMaxAttributeBytes) {
        throw StoreError(fmt::format("{}: attribute {} is {} bytes, more than the {} allowed", path,
                                     name, value.size(), kMaxAttributeBytes));
    }
    Handle type = string_type(std::max<size_t>(1, value.size() + 1));
    Handle space(check(H5Screate(H5S_SCALAR), path, "H5Screate"), H5Sclose);
    Handle attribute(
        check(H5Acreate2(object, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
              path, "H5Acreate2"),
        H5Aclose);
    std::vector<char> buffer(value.size() + 1, 0);
    std::memcpy(buffer.data(), value.data(), value.size());
    check(H5Awrite(attribute.get(), type.get(), buffer.data()), path, "H5Awrite");
}

std::string read_string_attribute(hid_t object, const std::string& name, const std::string& path) {
    Handle attribute(check(H5Aopen(object, name.c_str(), H5P_DEFAULT), path, "H5Aopen"), H5Aclose);
    Handle type(check(H5Aget_type(attribute.get()), path, "H5Aget_type"), H5Tclose);
    if (H5Tget_class(type.get()) != H5T_STRING || H5Tis_variable_str(type.get()) > 0) {
        throw StoreError(fmt::format("{}: attribute {} is not a fixed-length string", path, name));
    }
    std::vector<char> buffer(H5Tget_size(type.get()) + 1, 0);
    check(H5Aread(attribute.get(), type.get(), buffer.data()), path, "H5Aread");
    return std::string(buffer.data());
}

Handle create_dataset(hid_t parent, const std::string& name, hid_t type,
                      const std::vector<hsize_t>& dims, const std::string& path,
                      const std::string& units = "") {
    Handle space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), path,
                       "H5Screate_simple"),
                 H5Sclose);
    // Workers never create or resize: space is allocated now, and nothing is filled, since
    // every element is written before its unit's status says done.
    Handle properties(check(H5Pcreate(H5P_DATASET_CREATE), path, "H5Pcreate"), H5Pclose);
    check(H5Pset_alloc_time(properties.get(), H5D_ALLOC_TIME_EARLY), path, "H5Pset_alloc_time");
    check(H5Pset_fill_time(properties.get(), H5D_FILL_TIME_NEVER), path, "H5Pset_fill_time");
    Handle dataset(check(H5Dcreate2(parent, name.c_str(), type, space.get(), H5P_DEFAULT,
                                    properties.get(), H5P_DEFAULT),
                         path, "H5Dcreate2"),
                   H5Dclose);
    if (!units.empty()) write_string_attribute(dataset.get(), "units", units, path);
    return dataset;
}

// Independent: writes element `index` of a 1-D dataset.
void write_row(hid_t dataset, hid_t type, hsize_t index, const void* row, const std::string& path) {
    Handle file_space(check(H5Dget_space(dataset), path, "H5Dget_space"), H5Sclose);
    const hsize_t one = 1;
    Handle memory_space(check(H5Screate_simple(1, &one, nullptr), path, "H5Screate_simple"),
                        H5Sclose);
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &index, nullptr, &one, nullptr),
          path, "H5Sselect_hyperslab");
    check(H5Dwrite(dataset, type, memory_space.get(), file_space.get(), H5P_DEFAULT, row), path,
          "H5Dwrite");
}

// Collective: rank 0 (`mine`) writes the whole dataset, the other ranks take part with an
// empty selection.
void write_from_root(hid_t dataset, hid_t type, bool mine, const void* data, hid_t transfer,
                     const std::string& path) {
    if (mine) {
        check(H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, transfer, data), path, "H5Dwrite");
        return;
    }
    Handle file_space(check(H5Dget_space(dataset), path, "H5Dget_space"), H5Sclose);
    const hsize_t one = 1;
    Handle memory_space(check(H5Screate_simple(1, &one, nullptr), path, "H5Screate_simple"),
                        H5Sclose);
    H5Sselect_none(file_space.get());
    H5Sselect_none(memory_space.get());
    check(H5Dwrite(dataset, type, memory_space.get(), file_space.get(), transfer, data), path,
          "H5Dwrite");
}

void write_whole(hid_t parent, const std::string& name, hid_t type, const void* data,
                 const std::string& path) {
    Handle dataset(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), path, "H5Dopen2"), H5Dclose);
    check(H5Dwrite(dataset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), path, "H5Dwrite");
}

template <typename T>
std::vector<T> read_whole(hid_t parent, const std::string& name, hid_t type,
                          const std::string& path) {
    Handle dataset(check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), path, "H5Dopen2"), H5Dclose);
    Handle space(check(H5Dget_space(dataset.get()), path, "H5Dget_space"), H5Sclose);
    const hssize_t count = H5Sget_simple_extent_npoints(space.get());
    std::vector<T> values(static_cast<size_t>(std::max<hssize_t>(count, 0)));
    if (!values.empty()) {
        check(H5Dread(dataset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), path,
              "H5Dread");
    }
    return values;
}

Handle mpio_access(MPI_Comm comm, const std::string& path) {
    Handle access(check(H5Pcreate(H5P_FILE_ACCESS), path, "H5Pcreate"), H5Pclose);
    check(H5Pset_fapl_mpio(access.get(), comm, MPI_INFO_NULL), path, "H5Pset_fapl_mpio");
    return access;
}

bool file_exists(const std::string& path) {
    struct stat info {};
    return stat(path.c_str(), &info) == 0;
}

std::string utc_now() {
    const std::time_t now = std::time(nullptr);
    std::tm parts{};
    gmtime_r(&now, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

std::string dataset_group(const std::string& name) {
    return "/datasets/" + name;
}

// One group per data set, holding its test split and class names, written by rank 0.
void create_datasets(hid_t root, const DatasetInfos& datasets, int rank, hid_t transfer,
                     const std::string& path) {
    Handle top(check(H5Gcreate2(root, "datasets", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path,
                     "H5Gcreate2"),
               H5Gclose);
    for (const auto& [name, info] : datasets) {
        Handle group(check(H5Gcreate2(root, dataset_group(name).c_str(), H5P_DEFAULT, H5P_DEFAULT,
                                      H5P_DEFAULT),
                           path, "H5Gcreate2"),
                     H5Gclose);
        write_string_attribute(group.get(), "train_count", std::to_string(info.train_count), path);
        write_string_attribute(group.get(), "sha256sums", info.sha256sums, path);
        const hsize_t count = static_cast<hsize_t>(info.test_count);
        const hsize_t classes = static_cast<hsize_t>(info.classes);
        Handle labels = create_dataset(group.get(), "test_labels", H5T_NATIVE_UINT8, {count}, path,
                                       "class index per test image");
        Handle images =
            create_dataset(group.get(), "test_images", H5T_NATIVE_UINT8,
                           {count, hsize_t(info.channels), hsize_t(info.rows), hsize_t(info.cols)},
                           path, "pixel intensity 0-255, [image][channel][row][column]");
        Handle name_type = string_type(kNameBytes);
        Handle names = create_dataset(group.get(), "class_names", name_type.get(), {classes}, path);

        std::vector<char> name_rows(classes * kNameBytes, 0);
        for (size_t c = 0; c < info.class_names.size() && c < classes; ++c) {
            copy_text(&name_rows[c * kNameBytes], kNameBytes, info.class_names[c]);
        }
        const bool mine = rank == 0;
        if (mine && (info.test_labels.size() != count ||
                     info.test_pixels.size() != count * info.channels * info.rows * info.cols)) {
            throw StoreError(fmt::format("{}: test split of {} is incomplete", path, name));
        }
        write_from_root(labels.get(), H5T_NATIVE_UINT8, mine, info.test_labels.data(), transfer,
                        path);
        write_from_root(images.get(), H5T_NATIVE_UINT8, mine, info.test_pixels.data(), transfer,
                        path);
        write_from_root(names.get(), name_type.get(), mine, name_rows.data(), transfer, path);
    }
}

}  // namespace

const char* status_name(Status status) {
    switch (status) {
        case Status::kPending: return "pending";
        case Status::kDone: return "done";
        case Status::kFailed: return "failed";
    }
    return "unknown";
}

std::string stored_plan_hash(const std::string& path) {
    silence_hdf5_printing();
    if (!file_exists(path)) return "";
    if (H5Fis_hdf5(path.c_str()) <= 0) {
        throw StoreError(
            fmt::format("{}: exists but is not an HDF5 file; choose another output "
                        "or move it away",
                        path));
    }
    Handle file(check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path, "H5Fopen"),
                H5Fclose);
    if (H5Aexists(file.get(), "plan_hash") <= 0) {
        throw StoreError(
            fmt::format("{}: exists but is not a sweep result file, or its creation was cut "
                        "short (no plan_hash attribute); choose another output or remove it",
                        path));
    }
    return read_string_attribute(file.get(), "plan_hash", path);
}

RunFile::RunFile(const std::string& path, const plan::Study& study, const DatasetInfos& datasets,
                 const Provenance& provenance, MPI_Comm comm)
    : path_(path), comm_(comm) {
    silence_hdf5_printing();
    int rank = 0;
    MPI_Comm_rank(comm, &rank);

    // Rank 0 inspects the file serially and tells the others, so that a foreign or
    // mismatched file is refused before any rank opens it for writing.
    std::string verdict;
    int exists = 0;
    if (rank == 0) {
        try {
            const std::string stored = stored_plan_hash(path);
            exists = !stored.empty();
            if (exists && stored != study.plan_hash()) {
                verdict = fmt::format(
                    "{}: made from a different plan (plan hash {}, this study's is {}); it was "
                    "left untouched; choose another output or restore the study file it came "
                    "from",
                    path, stored, study.plan_hash());
            }
        } catch (const StoreError& error) {
            verdict = error.what();
        }
    }
    broadcast_text(verdict, 0, comm);
    MPI_Bcast(&exists, 1, MPI_INT, 0, comm);
    if (!verdict.empty()) throw StoreError(verdict);

    // MPI-IO reads "name:" prefixes and even some bare names (such as "5") as file-system
    // hints, so it gets an absolute path.
    const std::string absolute = std::filesystem::absolute(path).string();
    Handle access = mpio_access(comm, path);
    if (exists) {
        file_ = check(H5Fopen(absolute.c_str(), H5F_ACC_RDWR, access.get()), path,
                      "H5Fopen (is another run using this file?)");
    } else {
        file_ = check(H5Fcreate(absolute.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, access.get()), path,
                      "H5Fcreate");
        created_ = true;
        try {
            create(study, datasets, provenance);
        } catch (const StoreError&) {
            // Creation is collective and fails alike on every rank; a half-made file would
            // only stand in the way of the next run, so it goes.
            H5Fclose(static_cast<hid_t>(file_));
            file_ = -1;
            if (rank == 0) std::filesystem::remove(absolute);
            throw;
        }
    }
    Handle type = status_type();
    initial_status_ = read_whole<Status>(file_, "status", type.get(), path);
    if (initial_status_.size() != study.units.size()) {
        throw StoreError(fmt::format("{}: holds {} units, the plan has {}", path,
                                     initial_status_.size(), study.units.size()));
    }
}

void RunFile::create(const plan::Study& study, const DatasetInfos& datasets,
                     const Provenance& provenance) {
    int rank = 0;
    MPI_Comm_rank(comm_, &rank);
    std::string created_at = rank == 0 ? utc_now() : "";
    broadcast_text(created_at, 0, comm_);

    const hid_t root = static_cast<hid_t>(file_);
    write_string_attribute(root, "format", kFormat, path_);
    write_string_attribute(root, "study", study.name, path_);
    write_string_attribute(root, "study_yaml", study.yaml_text, path_);
    write_string_attribute(root, "created_utc", created_at, path_);
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    write_string_attribute(root, "hdf5_version", fmt::format("{}.{}.{}", major, minor, release),
                           path_);
    write_string_attribute(root, "sweep_version", SWEEP_VERSION, path_);
    write_string_attribute(root, "git_commit", SWEEP_GIT_COMMIT, path_);
    for (const auto& [key, value] : provenance) write_string_attribute(root, key, value, path_);

    const hsize_t count = study.units.size();
    Handle unit_type = unit_row_type(), outcome_type = outcome_row_type(),
           state_type = status_type(), curve_type = curve_row_type();
    Handle units = create_dataset(root, "units", unit_type.get(), {count}, path_);
    Handle outcomes = create_dataset(root, "outcomes", outcome_type.get(), {count}, path_,
                                     "final_test_accuracy: fraction of test images; "
                                     "final_test_loss: nats per image; seconds: wall time");
    Handle status = create_dataset(root, "status", state_type.get(), {count}, path_);

    // Rank 0 writes the tables; the others join the collective transfer with nothing.
    std::vector<UnitRow> unit_rows;
    for (const plan::Unit& unit : study.units) unit_rows.push_back(to_row(unit));
    const std::vector<OutcomeRow> empty_outcomes(count, OutcomeRow{});
    const std::vector<Status> pending(count, Status::kPending);
    Handle transfer(check(H5Pcreate(H5P_DATASET_XFER), path_, "H5Pcreate"), H5Pclose);
    check(H5Pset_dxpl_mpio(transfer.get(), H5FD_MPIO_COLLECTIVE), path_, "H5Pset_dxpl_mpio");
    const bool mine = rank == 0;
    write_from_root(units.get(), unit_type.get(), mine, unit_rows.data(), transfer.get(), path_);
    write_from_root(outcomes.get(), outcome_type.get(), mine, empty_outcomes.data(), transfer.get(),
                    path_);
    write_from_root(status.get(), state_type.get(), mine, pending.data(), transfer.get(), path_);
    create_datasets(root, datasets, rank, transfer.get(), path_);

    Handle unit_root(
        check(H5Gcreate2(root, "unit", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path_, "H5Gcreate2"),
        H5Gclose);
    for (const plan::Unit& unit : study.units) {
        const DatasetInfo& info = datasets.at(unit.dataset);
        const hsize_t test_count = static_cast<hsize_t>(
            unit.test_size > 0 ? std::min(unit.test_size, info.test_count) : info.test_count);
        const hsize_t classes = static_cast<hsize_t>(info.classes);
        Handle group(check(H5Gcreate2(root, unit_group(unit.index).c_str(), H5P_DEFAULT,
                                      H5P_DEFAULT, H5P_DEFAULT),
                           path_, "H5Gcreate2"),
                     H5Gclose);
        write_string_attribute(group.get(), "id", unit.id(), path_);
        write_string_attribute(group.get(), "setting", unit.setting_key(), path_);
        create_dataset(group.get(), "curves", curve_type.get(), {hsize_t(unit.epochs)}, path_,
                       "epoch: 1-based; accuracies: fraction of images; losses: nats per "
                       "image; lr: learning rate during the epoch; seconds: wall time");
        create_dataset(group.get(), "confusion", H5T_NATIVE_INT64, {classes, classes}, path_,
                       "test images, [true class][predicted class]");
        create_dataset(group.get(), "noise_counts", H5T_NATIVE_INT64, {classes, classes}, path_,
                       "training images, [true class][noisy label]");
        create_dataset(group.get(), "predictions", H5T_NATIVE_INT16, {test_count}, path_,
                       "predicted class per test image");
        create_dataset(group.get(), "scores", H5T_NATIVE_FLOAT, {test_count, classes}, path_,
                       "softmax probability per test image and class");
    }
    // The plan hash goes last: a file without it is not (yet) a sweep result file, so a
    // creation cut short is never mistaken for a usable one.
    write_string_attribute(root, "plan_hash", study.plan_hash(), path_);
    // Everything a worker relies on reaches the disk before any unit trains.
    check(H5Fflush(root, H5F_SCOPE_GLOBAL), path_, "H5Fflush");
}

void RunFile::write_done(int64_t index, const train::UnitResult& result, const Outcome& outcome) {
    const hid_t root = static_cast<hid_t>(file_);
    Handle group(check(H5Gopen2(root, unit_group(index).c_str(), H5P_DEFAULT), path_, "H5Gopen2"),
                 H5Gclose);
    Handle curve_type = curve_row_type();
    write_whole(group.get(), "curves", curve_type.get(), result.curves.data(), path_);
    write_whole(group.get(), "confusion", H5T_NATIVE_INT64, result.confusion.data(), path_);
    write_whole(group.get(), "noise_counts", H5T_NATIVE_INT64, result.noise_counts.data(), path_);
    write_whole(group.get(), "predictions", H5T_NATIVE_INT16, result.predictions.data(), path_);
    write_whole(group.get(), "scores", H5T_NATIVE_FLOAT, result.scores.data(), path_);
    write_outcome(index, outcome, Status::kDone);
}

void RunFile::write_failed(int64_t index, const Outcome& outcome) {
    write_outcome(index, outcome, Status::kFailed);
}

void RunFile::write_outcome(int64_t index, const Outcome& outcome, Status status) {
    const hid_t root = static_cast<hid_t>(file_);
    const OutcomeRow row = to_row(outcome);
    Handle outcome_type = outcome_row_type(), state_type = status_type();
    Handle outcomes(check(H5Dopen2(root, "outcomes", H5P_DEFAULT), path_, "H5Dopen2"), H5Dclose);
    Handle states(check(H5Dopen2(root, "status", H5P_DEFAULT), path_, "H5Dopen2"), H5Dclose);
    const hsize_t offset = static_cast<hsize_t>(index);
    write_row(outcomes.get(), outcome_type.get(), offset, &row, path_);
    // The status goes last: a unit is done only once all of its data is in the file.
    write_row(states.get(), state_type.get(), offset, &status, path_);
}

void RunFile::close() {
    if (file_ < 0) return;
    const hid_t file = static_cast<hid_t>(file_);
    file_ = -1;
    check(H5Fclose(file), path_, "H5Fclose");
}

RunFile::~RunFile() {
    // Still open here means an error is unwinding this rank alone: a collective close would
    // wait forever for the others, so only a single-rank run closes; MPI_Abort follows.
    int size = 1;
    MPI_Comm_size(comm_, &size);
    if (file_ >= 0 && size == 1) H5Fclose(static_cast<hid_t>(file_));
}

ResultReader::ResultReader(const std::string& path) : path_(path) {
    silence_hdf5_printing();
    struct stat info {};
    if (stat(path.c_str(), &info) != 0) {
        throw StoreError(
            fmt::format("{}: {}", path, errno == ENOENT ? "no such file" : std::strerror(errno)));
    }
    std::error_code not_there;
    if (std::filesystem::is_directory(path, not_there)) {
        throw StoreError(fmt::format("{}: is a directory, not a result file", path));
    }
    file_ = check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path, "H5Fopen");
    if (H5Aexists(static_cast<hid_t>(file_), "plan_hash") <= 0) {
        H5Fclose(static_cast<hid_t>(file_));
        file_ = -1;
        throw StoreError(fmt::format("{}: not a sweep result file (no plan_hash attribute)", path));
    }
}

ResultReader::~ResultReader() {
    if (file_ >= 0) H5Fclose(static_cast<hid_t>(file_));
}

std::string ResultReader::attribute(const std::string& name) const {
    return read_string_attribute(static_cast<hid_t>(file_), name, path_);
}

std::vector<plan::Unit> ResultReader::units() const {
    Handle type = unit_row_type();
    std::vector<plan::Unit> units;
    for (const UnitRow& row : read_whole<UnitRow>(file_, "units", type.get(), path_)) {
        units.push_back(from_row(row));
    }
    return units;
}

std::vector<Status> ResultReader::status() const {
    Handle type = status_type();
    return read_whole<Status>(file_, "status", type.get(), path_);
}

std::vector<Outcome> ResultReader::outcomes() const {
    Handle type = outcome_row_type();
    std::vector<Outcome> outcomes;
    for (const OutcomeRow& row : read_whole<OutcomeRow>(file_, "outcomes", type.get(), path_)) {
        outcomes.push_back({row.final_test_accuracy, row.final_test_loss, row.seconds, row.rank,
                            row.local_rank, row.host, row.device, row.visible_devices, row.error});
    }
    return outcomes;
}

std::vector<std::string> ResultReader::dataset_names() const {
    std::vector<std::string> names;
    for (const plan::Unit& unit : units()) {
        if (std::find(names.begin(), names.end(), unit.dataset) == names.end()) {
            names.push_back(unit.dataset);
        }
    }
    return names;
}

DatasetInfo ResultReader::dataset(const std::string& name) const {
    Handle group(
        check(H5Gopen2(static_cast<hid_t>(file_), dataset_group(name).c_str(), H5P_DEFAULT), path_,
              "H5Gopen2"),
        H5Gclose);
    DatasetInfo info;
    info.test_labels = read_whole<uint8_t>(group.get(), "test_labels", H5T_NATIVE_UINT8, path_);
    info.test_pixels = read_whole<uint8_t>(group.get(), "test_images", H5T_NATIVE_UINT8, path_);
    Handle name_type = string_type(kNameBytes);
    using Name = std::array<char, kNameBytes>;
    for (const Name& row : read_whole<Name>(group.get(), "class_names", name_type.get(), path_)) {
        info.class_names.emplace_back(row.data(), strnlen(row.data(), kNameBytes));
    }
    info.test_count = static_cast<int64_t>(info.test_labels.size());
    info.train_count = std::stoll(read_string_attribute(group.get(), "train_count", path_));
    if (H5Aexists(group.get(), "sha256sums") > 0) {  // absent in files from before it was kept
        info.sha256sums = read_string_attribute(group.get(), "sha256sums", path_);
    }
    info.classes = static_cast<int>(info.class_names.size());

    Handle images(check(H5Dopen2(group.get(), "test_images", H5P_DEFAULT), path_, "H5Dopen2"),
                  H5Dclose);
    Handle space(check(H5Dget_space(images.get()), path_, "H5Dget_space"), H5Sclose);
    hsize_t dims[4] = {};
    if (H5Sget_simple_extent_ndims(space.get()) != 4) {
        throw StoreError(fmt::format("{}: {}/test_images is not 4-dimensional", path_, name));
    }
    H5Sget_simple_extent_dims(space.get(), dims, nullptr);
    info.channels = static_cast<int>(dims[1]);
    info.rows = static_cast<int>(dims[2]);
    info.cols = static_cast<int>(dims[3]);
    return info;
}

UnitData ResultReader::unit_data(int64_t index) const {
    Handle group(check(H5Gopen2(static_cast<hid_t>(file_), unit_group(index).c_str(), H5P_DEFAULT),
                       path_, "H5Gopen2"),
                 H5Gclose);
    Handle curve_type = curve_row_type();
    UnitData data;
    data.curves = read_whole<train::EpochRecord>(group.get(), "curves", curve_type.get(), path_);
    data.confusion = read_whole<int64_t>(group.get(), "confusion", H5T_NATIVE_INT64, path_);
    data.noise_counts = read_whole<int64_t>(group.get(), "noise_counts", H5T_NATIVE_INT64, path_);
    data.predictions = read_whole<int16_t>(group.get(), "predictions", H5T_NATIVE_INT16, path_);
    data.scores = read_whole<float>(group.get(), "scores", H5T_NATIVE_FLOAT, path_);
    return data;
}

}  // namespace sweep::store
