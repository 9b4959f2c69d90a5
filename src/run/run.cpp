#include "run/run.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <mpi.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include "common/broadcast.hpp"
#include "common/error.hpp"
#include "data/data.hpp"
#include "fetch/fetch.hpp"
#include "placement/placement.hpp"
#include "plan/plan.hpp"
#include "run/log.hpp"
#include "store/store.hpp"
#include "train/packed.hpp"
#include "train/train.hpp"

namespace sweep::run {
namespace {

constexpr int kTagReport = 1;  // worker → scheduler: ready, done or failed
constexpr int kTagAssign = 2;  // scheduler → worker: a unit index, kNoMoreUnits or kStopNow
constexpr int kTagStop = 3;    // scheduler → worker: abandon the current unit, the run stops
constexpr int64_t kNoMoreUnits = -1;
constexpr int64_t kStopNow = -2;  // no more units, and a kTagStop message waits to be taken
// How long a waiting rank sleeps between polls. Open MPI's blocking receive spins a core;
// polling every few milliseconds costs nothing next to units that train for seconds.
constexpr auto kPollInterval = std::chrono::milliseconds(2);

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

enum class ReportKind : int32_t { kReady = 0, kDone = 1, kFailed = 2, kInterrupted = 3 };

// The signal that asked this rank to stop (SIGTERM from Slurm or scancel, SIGINT from
// Ctrl-C), or 0. Set by the handler, read at batch boundaries and while waiting.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int signal) {
    g_stop_signal = signal;
}

void install_stop_handlers() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;  // a second signal ends the process at once
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
}

// Sent as raw bytes: every rank runs the same binary.
struct Report {
    ReportKind kind = ReportKind::kReady;
    int32_t rank = 0;
    int64_t index = kNoMoreUnits;
    double accuracy = 0;
    double seconds = 0;
    char where[96] = {};  // "host: device", sent with kReady
    int32_t follows = 0;  // reports of the same pack still to come; the last one asks for more
};

// An input error every rank found alike: reported once by rank 0, not via MPI_Abort.
class AgreedError : public Error {
public:
    using Error::Error;
};

int world_rank() {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int world_size() {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

// Waits for a request without spinning; `between_polls` runs while it is not complete.
void wait_quietly(MPI_Request& request, MPI_Status* status,
                  const std::function<void()>& between_polls = {}) {
    int done = 0;
    while (true) {
        MPI_Test(&request, &done, status);
        if (done) return;
        if (between_polls) between_polls();
        std::this_thread::sleep_for(kPollInterval);
    }
}

void barrier_quietly() {
    MPI_Request request;
    MPI_Ibarrier(MPI_COMM_WORLD, &request);
    wait_quietly(request, MPI_STATUS_IGNORE);
}

// Runs a step on every rank; if it fails anywhere, every rank throws the same AgreedError,
// carrying the message of the lowest failing rank, so no rank waits in a later collective.
void agree(const std::function<void()>& step) {
    int code = 0;
    std::string message;
    try {
        step();
    } catch (const Error& error) {
        code = error.code();
        message = error.what();
    } catch (const std::exception& error) {
        code = kExitInternal;
        message = error.what();
    }
    const int rank = world_rank(), size = world_size();
    int local[2] = {code != 0 ? size - rank : 0, rank};
    int global[2] = {0, 0};
    MPI_Allreduce(local, global, 1, MPI_2INT, MPI_MAXLOC, MPI_COMM_WORLD);
    if (global[0] == 0) return;

    const int root = size - global[0];
    MPI_Bcast(&code, 1, MPI_INT, root, MPI_COMM_WORLD);
    broadcast_text(message, root, MPI_COMM_WORLD);
    throw AgreedError(message, static_cast<ExitCode>(code));
}

std::string host_name() {
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    return name;
}

std::string describe(const plan::Unit& unit) {
    return fmt::format("unit {} ({} {} lr={} gamma={} epsilon={} seed={})", unit.index,
                       unit.dataset, unit.optimizer, unit.lr, unit.gamma, unit.epsilon, unit.seed);
}

// What the result file keeps of a data set: its sizes, class names and test split. Every
// rank reads the data set once to learn its shape; only rank 0 keeps the test pixels.
store::DatasetInfo describe_dataset(const std::string& name, const std::string& dir) {
    const data::Dataset dataset = data::load_dataset(name, dir, 0, 0);
    const data::ImageSet& images = dataset.test.images;
    store::DatasetInfo info;
    info.train_count = dataset.train.images.count;
    info.test_count = images.count;
    info.classes = dataset.class_count;
    info.channels = images.channels;
    info.rows = images.rows;
    info.cols = images.cols;
    info.class_names = dataset.class_names;
    if (world_rank() == 0) {
        info.test_labels = dataset.test.labels;
        info.test_pixels = images.pixels;
        for (const std::string& file : data::dataset_files(name, dir)) {
            info.sha256sums += fmt::format(
                "{}  {}\n", fetch::file_hex_digest(fetch::DigestKind::kSha256, file), file);
        }
    }
    broadcast_text(info.sha256sums, 0, MPI_COMM_WORLD);  // attributes are written by all ranks
    return info;
}

// Checks every data set of the plan (files present and sound, sizes available) before
// anything trains, and describes each for the result file.
store::DatasetInfos check_data(const plan::Study& study, const std::string& data_root) {
    std::map<std::string, std::string> directories;
    store::DatasetInfos datasets;
    for (const plan::Unit& unit : study.units) {
        const auto [known, inserted] = directories.emplace(unit.dataset, unit.data_dir);
        if (!inserted && known->second != unit.data_dir) {
            throw ConfigError(
                fmt::format("{}: data_dir: {} has two data directories, '{}' and "
                            "'{}'",
                            study.source_path, unit.dataset, known->second, unit.data_dir));
        }
        if (inserted) {
            const std::string dir = data::locate(unit.dataset, unit.data_dir, data_root);
            datasets[unit.dataset] = describe_dataset(unit.dataset, dir);
        }
        const int64_t train_count = datasets[unit.dataset].train_count;
        const int64_t test_count = datasets[unit.dataset].test_count;
        if (unit.train_size > train_count || unit.test_size > test_count) {
            throw ConfigError(fmt::format(
                "{}: {}: train_size {} / test_size {} exceed the {} training and {} test "
                "images of {}",
                study.source_path, describe(unit), unit.train_size, unit.test_size, train_count,
                test_count, unit.dataset));
        }
    }
    return datasets;
}

store::Provenance provenance() {
    char mpi_version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
    int length = 0;
    MPI_Get_library_version(mpi_version, &length);
    std::string mpi_text(mpi_version, static_cast<size_t>(length));
    mpi_text = mpi_text.substr(0, mpi_text.find_first_of(",\n"));
    return {{"torch_version", train::torch_version()}, {"mpi_version", mpi_text}};
}

// Where this rank runs, as stored with each unit it trains.
struct Seat {
    train::Device device;
    int local_rank = 0;           // among the MPI ranks of its node
    std::string visible_devices;  // CUDA_VISIBLE_DEVICES, or "(unset)"
};

// Every rank's CUDA_VISIBLE_DEVICES on this node, in node-local rank order; collective over
// `node`. The value's presence travels as its first byte, so unset and empty differ.
std::vector<placement::NodeRank> gather_node(MPI_Comm node, bool is_worker) {
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    std::string mine = std::string(is_worker ? "w" : "s") + (visible ? "=" : "-");
    if (visible) mine += visible;

    int ranks = 0;
    MPI_Comm_size(node, &ranks);
    int length = static_cast<int>(mine.size());
    std::vector<int> lengths(ranks), offsets(ranks);
    MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, node);
    int total = 0;
    for (int i = 0; i < ranks; ++i) {
        offsets[i] = total;
        total += lengths[i];
    }
    std::string all(total, '\0');
    MPI_Allgatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(),
                   MPI_CHAR, node);

    std::vector<placement::NodeRank> ranks_of_node;
    for (int i = 0; i < ranks; ++i) {
        const std::string entry = all.substr(offsets[i], lengths[i]);
        placement::NodeRank rank;
        rank.worker = entry[0] == 'w';
        if (entry[1] == '=') rank.visible_devices = entry.substr(2);
        ranks_of_node.push_back(rank);
    }
    return ranks_of_node;
}

// Where this worker trains (see placement::place for the rule). Collective; an error on any
// rank (more workers than GPUs on some host) stops every rank.
Seat pick_seat(bool rank0_trains, const Options& options) {
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    const bool is_worker = rank0_trains || world_rank() != 0;
    Seat seat;
    MPI_Comm_rank(node, &seat.local_rank);
    const std::vector<placement::NodeRank> ranks = gather_node(node, is_worker);
    MPI_Comm_free(&node);
    seat.visible_devices = placement::describe_visible(ranks[seat.local_rank].visible_devices);

    agree([&] {
        if (!is_worker) return;
        placement::Request request;
        request.host = host_name();
        request.local_rank = seat.local_rank;
        request.cuda_devices = train::cuda_device_count();
        request.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        request.threads = options.threads;
        request.share_gpus = options.share_gpus;
        const placement::Placement placed = placement::place(ranks, request);
        seat.device.cuda = placed.cuda;
        seat.device.index = placed.device;
        seat.device.threads = placed.threads;
    });
    return seat;
}

// Where a worker's wall time went, in seconds, summed over the run and reported by rank 0.
struct WorkerTime {
    double loading = 0;   // reading and preparing data sets
    double training = 0;  // train_unit: training and testing
    double writing = 0;   // HDF5 writes of results and outcomes
    double waiting = 0;   // from sending a report to receiving the next assignment
};

// Trains units on one rank, keeping each data set in memory once loaded.
class Worker {
public:
    Worker(store::RunFile& file, const plan::Study& study, const Seat& seat, std::string data_root)
        : file_(file),
          study_(study),
          device_(seat.device),
          local_rank_(seat.local_rank),
          visible_devices_(seat.visible_devices),
          host_(host_name()),
          data_root_(std::move(data_root)) {
        if (!device_.cuda) train::set_cpu_threads(device_.threads);
    }

    std::string where() const {
        return fmt::format("{}: {} (local rank {}, CUDA_VISIBLE_DEVICES {})", host_,
                           device_.describe(), local_rank_, visible_devices_);
    }

    // Trains one unit and stores it; returns the report for the scheduler.
    Report train(int64_t index, const train::StopCheck& should_stop) {
        const plan::Unit& unit = study_.units.at(static_cast<size_t>(index));
        spdlog::debug("{} started", describe(unit));
        const Clock::time_point start = Clock::now();
        try {
            const train::PreparedData& data = prepared(unit);
            const Clock::time_point trained = Clock::now();
            train::UnitResult result = train::train_unit(unit, data, device_, should_stop);
            time_.training += seconds_since(trained);
            return store_done(index, std::move(result), 1);
        } catch (const Error&) {
            throw;  // data or store trouble is not the unit's fault: stop the sweep
        } catch (const train::UnitInterrupted&) {
            return interrupted(index);
        } catch (const std::exception& error) {
            // A NaN loss, an out-of-memory or a Torch error: record it, go on.
            return store_failed(index, error.what(), seconds_since(start), 1);
        }
    }

    // Trains compatible units as one pack (train_units_packed) and stores each; returns one
    // report per unit, in the order given. A pack that fails as a whole (out of memory, say)
    // is trained again one unit at a time.
    std::vector<Report> train_pack(const std::vector<int64_t>& indices,
                                   const train::StopCheck& should_stop) {
        if (indices.size() == 1) return {train(indices[0], should_stop)};
        std::vector<plan::Unit> units;
        for (int64_t index : indices) units.push_back(study_.units.at(static_cast<size_t>(index)));
        const int pack = static_cast<int>(units.size());
        spdlog::debug("units {} started as one pack", fmt::join(indices, ", "));

        std::vector<train::PackedOutcome> outcomes;
        const Clock::time_point start = Clock::now();
        try {
            const train::PreparedData& data = prepared(units[0]);
            const Clock::time_point trained = Clock::now();
            outcomes = train::train_units_packed(units, data, device_, should_stop);
            time_.training += seconds_since(trained);
        } catch (const Error&) {
            throw;
        } catch (const train::UnitInterrupted&) {
            std::vector<Report> reports;
            for (int64_t index : indices) reports.push_back(interrupted(index));
            return reports;
        } catch (const std::exception& error) {
            spdlog::warn("a pack of {} units failed as a whole ({}); training them one by one",
                         pack, error.what());
            std::vector<Report> reports;
            for (int64_t index : indices) reports.push_back(train(index, should_stop));
            return reports;
        }

        std::vector<Report> reports;
        for (size_t slot = 0; slot < indices.size(); ++slot) {
            train::PackedOutcome& outcome = outcomes[slot];
            reports.push_back(outcome.error.empty()
                                  ? store_done(indices[slot], std::move(outcome.result), pack)
                                  : store_failed(indices[slot], outcome.error,
                                                 seconds_since(start) / pack, pack));
        }
        return reports;
    }

    WorkerTime& time() { return time_; }

private:
    store::Outcome new_outcome(int pack) const {
        store::Outcome outcome;
        outcome.rank = world_rank();
        outcome.local_rank = local_rank_;
        outcome.host = host_;
        outcome.device = device_.describe();
        if (pack > 1) outcome.device += fmt::format(", pack of {}", pack);
        outcome.visible_devices = visible_devices_;
        return outcome;
    }

    // A packed unit's times are its share of the pack's: the pack's time over its units, so
    // that summed over units they give the worker's time, as for units trained alone.
    Report store_done(int64_t index, train::UnitResult result, int pack) {
        if (pack > 1) {
            result.seconds /= pack;
            for (train::EpochRecord& epoch : result.curves) epoch.seconds /= pack;
        }
        store::Outcome outcome = new_outcome(pack);
        outcome.final_test_accuracy = result.curves.back().test_accuracy;
        outcome.final_test_loss = result.curves.back().test_loss;
        outcome.seconds = result.seconds;
        const Clock::time_point written = Clock::now();
        file_.write_done(index, result, outcome);
        time_.writing += seconds_since(written);
        return {ReportKind::kDone, world_rank(), index, outcome.final_test_accuracy,
                outcome.seconds};
    }

    Report store_failed(int64_t index, const std::string& reason, double seconds, int pack) {
        const plan::Unit& unit = study_.units.at(static_cast<size_t>(index));
        store::Outcome outcome = new_outcome(pack);
        outcome.error = reason.substr(0, 255);
        outcome.error = outcome.error.substr(0, outcome.error.find('\n'));
        outcome.seconds = seconds;
        const Clock::time_point written = Clock::now();
        file_.write_failed(index, outcome);
        time_.writing += seconds_since(written);
        spdlog::warn("{} failed: {}", describe(unit), outcome.error);
        return {ReportKind::kFailed, world_rank(), index, 0, seconds};
    }

    Report interrupted(int64_t index) const {
        const plan::Unit& unit = study_.units.at(static_cast<size_t>(index));
        spdlog::info("{} abandoned: the run is stopping; it stays pending", describe(unit));
        return {ReportKind::kInterrupted, world_rank(), index, 0, 0};
    }

    const train::PreparedData& prepared(const plan::Unit& unit) {
        const std::string key =
            fmt::format("{}|{}|{}", unit.dataset, unit.train_size, unit.test_size);
        auto found = prepared_.find(key);
        if (found != prepared_.end()) return *found->second.second;
        const Clock::time_point loading = Clock::now();
        const std::string dir = data::locate(unit.dataset, unit.data_dir, data_root_);
        auto dataset = std::make_unique<data::Dataset>(
            data::load_dataset(unit.dataset, dir, unit.train_size, unit.test_size));
        auto ready = std::make_unique<train::PreparedData>(*dataset, device_);
        spdlog::debug("loaded {} from {}: {} training and {} test images", unit.dataset, dir,
                      dataset->train.images.count, dataset->test.images.count);
        auto& slot = prepared_[key];
        slot = {std::move(dataset), std::move(ready)};
        time_.loading += seconds_since(loading);
        return *slot.second;
    }

    store::RunFile& file_;
    const plan::Study& study_;
    train::Device device_;
    int local_rank_;
    std::string visible_devices_;
    std::string host_;
    std::string data_root_;
    WorkerTime time_;
    std::map<std::string,
             std::pair<std::unique_ptr<data::Dataset>, std::unique_ptr<train::PreparedData>>>
        prepared_;
};

// "1h02m03s", "4m05s" or "7s": durations a person reads at a glance.
std::string duration_text(double seconds) {
    const auto total = static_cast<int64_t>(seconds + 0.5);
    const int64_t hours = total / 3600, minutes = total / 60 % 60, rest = total % 60;
    if (hours > 0) return fmt::format("{}h{:02d}m{:02d}s", hours, minutes, rest);
    if (minutes > 0) return fmt::format("{}m{:02d}s", minutes, rest);
    return fmt::format("{}s", rest);
}

// Rank 0's account of the sweep: a log line per finished unit, and a progress display of units
// done, running units and their ranks, the latest accuracy, elapsed time and an ETA. On a
// terminal it is a bar redrawn in place; into a file (Slurm's output) a plain line now and then.
class Progress {
public:
    // mode: "bar", "lines", or "auto" (a bar when stderr is a terminal; under mpirun it is a
    // pipe, so ask for the bar there).
    Progress(const plan::Study& study, size_t to_train, const std::string& mode)
        : study_(study),
          to_train_(to_train),
          start_(Clock::now()),
          last_shown_(start_),
          last_line_(start_),
          live_(mode == "bar" || (mode == "auto" && isatty(STDERR_FILENO) != 0)) {}
    ~Progress() { clear(); }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void started(int rank, const std::vector<int64_t>& indices) {
        running_[rank] = indices;
        redraw();
    }

    void record(const Report& report) {
        std::vector<int64_t>& running = running_[report.rank];
        running.erase(std::remove(running.begin(), running.end(), report.index), running.end());
        if (running.empty()) running_.erase(report.rank);
        if (report.kind == ReportKind::kInterrupted) return;  // still pending
        const plan::Unit& unit = study_.units.at(static_cast<size_t>(report.index));
        ++finished_;
        clear();
        if (report.kind == ReportKind::kFailed) {
            ++failed_;
            spdlog::warn("{} failed on rank {} (reason in the result file's outcomes table)",
                         describe(unit), report.rank);
        } else {
            last_accuracy_ = 100 * report.accuracy;
            spdlog::info("{} done on rank {}: test accuracy {:.3f} %, {:.1f} s; {}", describe(unit),
                         report.rank, last_accuracy_, report.seconds, summary());
        }
        redraw();
    }

    // Called while rank 0 waits: keeps the bar's clock moving, or writes a line now and then.
    void tick() {
        const double since = std::chrono::duration<double>(Clock::now() - last_shown_).count();
        if (live_ && since >= 1) {
            redraw();
        }
        const double since_line = std::chrono::duration<double>(Clock::now() - last_line_).count();
        if (!live_ && since_line >= kProgressLineSeconds) {
            spdlog::info("progress: {}", summary());
            last_line_ = Clock::now();
        }
    }

    // Takes the bar off the screen so that a log line can follow.
    void clear() {
        if (live_ && shown_) std::fprintf(stderr, "\r\033[K");
        shown_ = false;
    }

    size_t failed() const { return failed_; }
    size_t finished() const { return finished_; }
    double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

private:
    // A plain line every this many seconds when stderr is not a terminal.
    static constexpr double kProgressLineSeconds = 60;
    static constexpr int kBarWidth = 20;  // characters

    std::string summary() const {
        std::string running;
        for (const auto& [rank, indices] : running_) {
            running += fmt::format("{}rank {}: unit{} {}", running.empty() ? "" : ", ", rank,
                                   indices.size() == 1 ? "" : "s", fmt::join(indices, "+"));
        }
        std::string text = fmt::format("{}/{} units", finished_, to_train_);
        if (failed_ > 0) text += fmt::format(" ({} failed)", failed_);
        if (!running.empty()) text += fmt::format(", running {}", running);
        text += fmt::format(", elapsed {}", duration_text(elapsed()));
        if (finished_ > 0 && finished_ < to_train_) {
            const double eta = elapsed() / finished_ * (to_train_ - finished_);
            text += fmt::format(", about {} left", duration_text(eta));
        }
        return text;
    }

    void redraw() {
        last_shown_ = Clock::now();
        if (!live_) return;
        const int filled =
            to_train_ == 0 ? kBarWidth : static_cast<int>(kBarWidth * finished_ / to_train_);
        std::string bar = std::string(filled, '#') + std::string(kBarWidth - filled, '-');
        std::string accuracy =
            finished_ > failed_ ? fmt::format(", last {:.2f} %", last_accuracy_) : "";
        std::string line = fmt::format("[{}] {}{}", bar, summary(), accuracy);
        // One row only: "\r\033[K" clears one, so a wrapped line would leave stale rows.
        struct winsize window {};
        if (ioctl(STDERR_FILENO, TIOCGWINSZ, &window) == 0 && window.ws_col > 1 &&
            line.size() >= window.ws_col) {
            line.resize(window.ws_col - 1);
        }
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
        std::fflush(stderr);
        shown_ = true;
    }

    const plan::Study& study_;
    size_t to_train_;
    size_t finished_ = 0;
    size_t failed_ = 0;
    double last_accuracy_ = 0;
    std::map<int, std::vector<int64_t>> running_;  // rank → the units it trains
    Clock::time_point start_;
    Clock::time_point last_shown_;
    Clock::time_point last_line_;  // of the timed lines written when stderr is not a terminal
    bool live_;
    bool shown_ = false;
};

// How far into the pending units take_pack looks for partners of the first one. A grid's
// packable units are usually neighbours; the bound keeps a 10^5-unit plan's dispatch linear.
constexpr size_t kPackSearch = 4096;

// Takes the first pending unit and up to pack - 1 others that may train with it.
std::vector<int64_t> take_pack(std::deque<int64_t>& pending, const plan::Study& study, int pack) {
    const auto unit = [&](int64_t index) -> const plan::Unit& {
        return study.units.at(static_cast<size_t>(index));
    };
    std::vector<int64_t> taken = {pending.front()};
    pending.pop_front();
    size_t looked = 0;
    for (auto next = pending.begin();
         next != pending.end() && static_cast<int>(taken.size()) < pack && looked < kPackSearch;
         ++looked) {
        if (train::packable(unit(taken[0]), unit(*next))) {
            taken.push_back(*next);
            next = pending.erase(next);
        } else {
            ++next;
        }
    }
    return taken;
}

// Rank 0's side of the protocol. Returns true when the run was stopped by a signal (its own
// or a worker's) before every unit was handed out.
bool schedule(std::deque<int64_t> pending, Progress& progress, const plan::Study& study, int pack) {
    const int size = world_size();
    int active_workers = size - 1;
    bool stopping = false;
    std::vector<char> released(size, 0);   // got its last reply
    std::vector<char> stop_sent(size, 0);  // was sent kTagStop
    std::vector<char> holding(size, 0);    // has units and has not reported them all
    const int64_t stop_message = 1;
    auto begin_stop = [&](const char* why) {
        if (stopping) return;
        stopping = true;
        progress.clear();
        spdlog::warn(
            "stopping ({}): no more units are handed out; running units are abandoned "
            "at their next batch",
            why);
        for (int worker = 1; worker < size; ++worker) {
            if (released[worker]) continue;
            MPI_Send(&stop_message, 1, MPI_INT64_T, worker, kTagStop, MPI_COMM_WORLD);
            stop_sent[worker] = 1;
        }
    };

    while (active_workers > 0) {
        Report report;
        MPI_Request request;
        MPI_Status status;
        MPI_Irecv(&report, sizeof report, MPI_BYTE, MPI_ANY_SOURCE, kTagReport, MPI_COMM_WORLD,
                  &request);
        wait_quietly(request, &status, [&] {
            if (g_stop_signal != 0) begin_stop(strsignal(g_stop_signal));
            progress.tick();
        });
        if (report.kind == ReportKind::kReady) {
            progress.clear();
            spdlog::info("rank {} ready on {}", report.rank, report.where);
        } else if (report.kind == ReportKind::kInterrupted) {
            begin_stop(fmt::format("rank {} was signalled", report.rank).c_str());
        } else {
            progress.record(report);
        }
        if (report.follows > 0) continue;  // the rest of a pack's reports come first

        const int worker = status.MPI_SOURCE;
        holding[worker] = 0;
        std::vector<int64_t> next(pack, kNoMoreUnits);
        if (!stopping && !pending.empty()) {
            // Packs no larger than an even share of what is left among the workers without
            // units, so that a large --pack does not hand one worker everything.
            int idle = 0;
            for (int other = 1; other < size; ++other) idle += !released[other] && !holding[other];
            const size_t share = (pending.size() + idle - 1) / std::max(1, idle);
            const int this_pack =
                static_cast<int>(std::min<size_t>(pack, std::max<size_t>(1, share)));
            const std::vector<int64_t> units = take_pack(pending, study, this_pack);
            holding[worker] = 1;
            std::copy(units.begin(), units.end(), next.begin());
            progress.started(worker, units);
        } else {
            next[0] = stop_sent[worker] ? kStopNow : kNoMoreUnits;
            --active_workers;
            released[worker] = 1;
        }
        MPI_Send(next.data(), pack, MPI_INT64_T, worker, kTagAssign, MPI_COMM_WORLD);
    }
    return stopping;
}

// A worker's side: ask, train, report, until told there is nothing more. Stops early when
// this rank is signalled or rank 0 says the run is stopping.
void work(Worker& worker, int pack) {
    const train::StopCheck should_stop = [] {
        int stop_waiting = 0;
        MPI_Iprobe(0, kTagStop, MPI_COMM_WORLD, &stop_waiting, MPI_STATUS_IGNORE);
        return g_stop_signal != 0 || stop_waiting != 0;
    };
    std::vector<Report> reports(1);  // first, kReady with where this worker trains
    reports[0].rank = world_rank();
    const std::string where = worker.where();
    std::strncpy(reports[0].where, where.c_str(), sizeof reports[0].where - 1);
    while (true) {
        const Clock::time_point asked = Clock::now();
        for (size_t i = 0; i < reports.size(); ++i) {
            reports[i].follows = static_cast<int32_t>(reports.size() - 1 - i);
            MPI_Send(&reports[i], sizeof reports[i], MPI_BYTE, 0, kTagReport, MPI_COMM_WORLD);
        }
        std::vector<int64_t> assigned(pack, kNoMoreUnits);
        MPI_Request request;
        MPI_Irecv(assigned.data(), pack, MPI_INT64_T, 0, kTagAssign, MPI_COMM_WORLD, &request);
        wait_quietly(request, MPI_STATUS_IGNORE);
        worker.time().waiting += seconds_since(asked);
        if (assigned[0] == kNoMoreUnits) return;
        if (assigned[0] == kStopNow) {
            int64_t taken = 0;
            MPI_Recv(&taken, 1, MPI_INT64_T, 0, kTagStop, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            return;
        }
        assigned.erase(std::remove(assigned.begin(), assigned.end(), kNoMoreUnits), assigned.end());
        reports = worker.train_pack(assigned, should_stop);
    }
}

// Rank 0 holds an exclusive lock on RESULT.lock for the whole run, so a second run on the same
// result file is refused before it opens it, instead of training the same units twice. The
// lock file stays; it is free whenever no run holds it.
class RunLock {
public:
    explicit RunLock(const std::string& result_path) : path_(result_path + ".lock") {
        fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) {
            const int error = errno;
            const bool permission = error == EACCES || error == EPERM || error == EROFS;
            throw StoreError(fmt::format(
                "{}: cannot {} the run's lock file: {}{}", path_,
                access(path_.c_str(), F_OK) == 0 ? "open" : "create", std::strerror(error),
                permission ? "; the result file's directory must be writable" : ""));
        }
        if (flock(fd_, LOCK_EX | LOCK_NB) == 0) {
            const std::string owner = fmt::format("pid {} on {}\n", getpid(), host_name());
            if (ftruncate(fd_, 0) == 0 && write(fd_, owner.data(), owner.size()) < 0) {
                spdlog::debug("{}: could not record the owner", path_);
            }
            return;
        }
        const int error = errno;
        if (error == ENOLCK && locking_disabled()) {
            spdlog::warn(
                "{}: this file system has no locks; HDF5_USE_FILE_LOCKING=FALSE is set, "
                "so nothing stops a second run on the same file",
                path_);
            return;
        }
        std::string owner(128, '\0');
        owner.resize(std::max<ssize_t>(0, pread(fd_, owner.data(), owner.size(), 0)));
        close(fd_);
        if (error == ENOLCK) {
            throw StoreError(
                fmt::format("{}: the file system does not support locks (errno {}); "
                            "if only one run uses this file, set "
                            "HDF5_USE_FILE_LOCKING=FALSE and run again",
                            path_, error));
        }
        throw StoreError(
            fmt::format("{}: another run is using this result file ({}); wait for "
                        "it to end or choose another output",
                        result_path, owner.substr(0, owner.find('\n'))));
    }
    ~RunLock() {
        if (fd_ >= 0) close(fd_);  // closing releases the lock
    }
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;

private:
    static bool locking_disabled() {
        const char* value = std::getenv("HDF5_USE_FILE_LOCKING");
        return value != nullptr && std::string(value) == "FALSE";
    }

    std::string path_;
    int fd_ = -1;
};

// With --force, a result file that this plan cannot use is kept and a new one is written beside
// it: x.h5 → x.1.h5, x.2.h5, ... Rank 0 decides, every rank gets the same name.
std::string beside_if_foreign(const plan::Study& study) {
    std::string chosen = study.output;
    if (world_rank() == 0) {
        auto usable = [&](const std::string& path) {
            try {
                const std::string stored = store::stored_plan_hash(path);
                return stored.empty() || stored == study.plan_hash();
            } catch (const StoreError&) {
                return false;
            }
        };
        const std::filesystem::path original(study.output);
        for (int number = 1; !usable(chosen); ++number) {
            std::filesystem::path candidate = original;
            candidate.replace_extension(fmt::format("{}{}", number, original.extension().string()));
            chosen = candidate.string();
        }
        if (chosen != study.output) {
            spdlog::warn("--force: {} is kept as it is; writing {} instead", study.output, chosen);
        }
    }
    broadcast_text(chosen, 0, MPI_COMM_WORLD);
    return chosen;
}

// Sums every worker's time on rank 0 and logs where it went, as shares of the workers' wall
// time (workers × elapsed): the overhead of HDF5 and of the scheduler, measured. Collective.
void log_worker_time(const WorkerTime& mine, double elapsed, int workers) {
    double local[4] = {mine.loading, mine.training, mine.writing, mine.waiting};
    double total[4] = {0, 0, 0, 0};
    MPI_Reduce(local, total, 4, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (world_rank() != 0 || elapsed <= 0) return;
    const double budget = elapsed * workers;
    const auto share = [&](double seconds) { return 100.0 * seconds / budget; };
    // The rest: start-up before the first unit and idling after the last, on a run with
    // fewer units than workers or one long unit at the end.
    const double rest = std::max(0.0, budget - total[0] - total[1] - total[2] - total[3]);
    spdlog::info(
        "worker time ({} worker(s) × {:.1f} s): training {:.1f} s ({:.2f} %), loading data "
        "{:.1f} s ({:.2f} %), writing results {:.3f} s ({:.3f} %), waiting for work {:.3f} s "
        "({:.3f} %), idle at start and end {:.1f} s ({:.2f} %)",
        workers, elapsed, total[1], share(total[1]), total[0], share(total[0]), total[2],
        share(total[2]), total[3], share(total[3]), rest, share(rest));
}

// What a stopped run tells its user: what is left and the exact command that resumes.
void report_stop(const Options& options, const plan::Study& study, size_t remaining, int ranks) {
    const bool under_srun = std::getenv("SLURM_STEP_NUM_TASKS") != nullptr;
    std::string command = program_invocation_name;  // the binary as it was started
    if (ranks > 1) {
        command =
            fmt::format("{} -n {} {}", under_srun ? "srun --mpi=pmix" : "mpirun", ranks, command);
    }
    command += fmt::format(" run {} -o {}", options.study_path, study.output);
    if (!options.data_dir.empty()) command += " --data-dir " + options.data_dir;
    if (options.retry_failed) command += " --retry-failed";
    if (options.threads > 0) command += fmt::format(" --threads {}", options.threads);
    if (options.share_gpus) command += " --share-gpus";
    if (options.pack > 1) command += fmt::format(" --pack {}", options.pack);
    if (options.progress != "auto") command += " --progress " + options.progress;
    spdlog::warn(
        "stopped by a signal: {} of {} units remain pending; the result file is closed "
        "and sound; resume with: {}",
        remaining, study.units.size(), command);
}

// srun without a PMI that this Open MPI understands starts N singletons, each rank 0 of 1,
// all of which would train every unit into the same file.
void check_launch() {
    const char* step_tasks = std::getenv("SLURM_STEP_NUM_TASKS");
    const int slurm_tasks = step_tasks != nullptr ? std::atoi(step_tasks) : 0;
    if (world_size() != 1 || slurm_tasks <= 1) return;
    throw MpiError(fmt::format(
        "launch: Slurm started {} tasks but MPI sees 1, so each would run the whole study alone; "
        "launch with `srun --mpi=pmix` (see `srun --mpi=list`) or with mpirun inside the "
        "allocation",
        slurm_tasks));
}

int sweep_collectively(const Options& options) {
    install_stop_handlers();  // before anything slow, so an early SIGTERM still stops cleanly
    check_launch();
    const int rank = world_rank(), size = world_size();
    plan::Study study;
    store::DatasetInfos datasets;
    agree([&] {
        study = plan::load_study(options.study_path);
        if (!options.output.empty()) study.output = options.output;
        datasets = check_data(study, options.data_dir);
    });

    agree([&] {
        if (rank != 0) return;
        std::error_code not_there;  // a name too long or unreadable is reported further on
        if (std::filesystem::is_directory(study.output, not_there)) {
            throw StoreError(
                fmt::format("{}: is a directory; give the result file's name, such as {}/{}.h5",
                            study.output, study.output, study.name));
        }
        const std::filesystem::path parent = std::filesystem::path(study.output).parent_path();
        std::error_code error;
        if (!parent.empty()) std::filesystem::create_directories(parent, error);
        if (error) {
            throw StoreError(fmt::format("{}: cannot create the output directory: {}",
                                         parent.string(), error.message()));
        }
    });
    if (options.force) study.output = beside_if_foreign(study);
    std::unique_ptr<RunLock> lock;
    agree([&] {
        if (rank == 0) lock = std::make_unique<RunLock>(study.output);
    });
    std::unique_ptr<store::RunFile> file;
    agree([&] {
        file = std::make_unique<store::RunFile>(study.output, study, datasets, provenance(),
                                                MPI_COMM_WORLD);
    });

    std::deque<int64_t> pending;
    for (size_t i = 0; i < study.units.size(); ++i) {
        const store::Status status = file->initial_status()[i];
        const bool retry = options.retry_failed && status == store::Status::kFailed;
        if (status == store::Status::kPending || retry) pending.push_back(i);
    }
    const size_t done_before = study.units.size() - pending.size();
    // Units failed in an earlier run and not retried now still make the study incomplete.
    const auto& initial = file->initial_status();
    const size_t failed_before =
        options.retry_failed ? 0
                             : std::count(initial.begin(), initial.end(), store::Status::kFailed);
    if (rank == 0) {
        spdlog::info("{}: study {}, {} units; {} {}, {} to train on {} worker rank(s)",
                     options.study_path, study.name, study.units.size(), study.output,
                     file->created() ? "created" : "reopened", pending.size(),
                     size == 1 ? 1 : size - 1);
        if (done_before > 0)
            spdlog::info("{} units already done{} are skipped", done_before,
                         options.retry_failed ? "" : " or failed");
    }

    Progress progress(study, pending.size(), options.progress);
    const Seat seat = pick_seat(size == 1, options);
    int stopped = 0;
    WorkerTime time;
    if (size == 1) {
        Worker worker(*file, study, seat, options.data_dir);
        spdlog::info("training on {}", worker.where());
        const train::StopCheck should_stop = [] { return g_stop_signal != 0; };
        std::deque<int64_t> queue = pending;
        while (!queue.empty() && !stopped) {
            const std::vector<int64_t> units = take_pack(queue, study, options.pack);
            progress.started(0, units);
            for (const Report& report : worker.train_pack(units, should_stop)) {
                if (report.kind == ReportKind::kInterrupted) {
                    stopped = 1;
                } else {
                    progress.record(report);
                }
            }
        }
        time = worker.time();
    } else if (rank == 0) {
        stopped = schedule(pending, progress, study, options.pack);
    } else {
        Worker worker(*file, study, seat, options.data_dir);
        work(worker, options.pack);
        time = worker.time();
    }

    progress.clear();
    barrier_quietly();
    file->close();
    int counts[2] = {static_cast<int>(progress.failed()), stopped};
    MPI_Bcast(counts, 2, MPI_INT, 0, MPI_COMM_WORLD);
    const int failed = counts[0];
    if (rank == 0) {
        const size_t trained = progress.finished() - failed;
        spdlog::info("finished in {:.1f} s: {} trained, {} failed, {} skipped; results in {}",
                     progress.elapsed(), trained, failed, done_before, study.output);
        if (counts[1]) report_stop(options, study, pending.size() - progress.finished(), size);
        if (failed_before > 0) {
            spdlog::warn(
                "{} unit(s) failed in an earlier run and were skipped; rerun with "
                "--retry-failed to train them again",
                failed_before);
        }
    }
    log_worker_time(time, progress.elapsed(), size == 1 ? 1 : size - 1);
    if (counts[1]) return kExitStopped;
    return failed > 0 || failed_before > 0 ? kExitUnitsFailed : kExitOk;
}

}  // namespace

int run_sweep(const Options& options) {
    try {
        return sweep_collectively(options);
    } catch (const AgreedError& error) {
        if (world_rank() == 0) spdlog::error("{}", error.what());
        return error.code();
    }
}

}  // namespace sweep::run
