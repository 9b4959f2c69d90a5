#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "placement/placement.hpp"

using sweep::placement::NodeRank;
using sweep::placement::place;
using sweep::placement::Request;

namespace {

const std::optional<std::string> kUnset;

// One launch as a node sees it: its ranks in local order and what each process's LibTorch
// counts once CUDA_VISIBLE_DEVICES is applied. expected_device is -1 for the scheduler.
struct Launch {
    const char* name;
    std::vector<NodeRank> node;
    std::vector<int> cuda_devices;     // per local rank
    std::vector<int> expected_device;  // per local rank; -1: not a worker
};

NodeRank scheduler(std::optional<std::string> visible = kUnset) {
    return {false, std::move(visible)};
}

NodeRank worker(std::optional<std::string> visible = kUnset) {
    return {true, std::move(visible)};
}

}  // namespace

TEST_CASE("placement: the device of each worker, launch by launch", "[placement]") {
    const std::vector<Launch> launches = {
        // mpirun -n 5 on a 4-GPU node: nothing sets the variable, every rank sees 4 devices.
        {"mpirun on a 4-GPU node",
         {scheduler(), worker(), worker(), worker(), worker()},
         {4, 4, 4, 4, 4},
         {-1, 0, 1, 2, 3}},
        // srun --gpus-per-task=1: Slurm gives each task its own GPU, so each sees one device.
        {"srun --gpus-per-task=1",
         {scheduler("0"), worker("1"), worker("2"), worker("3"), worker("4")},
         {1, 1, 1, 1, 1},
         {-1, 0, 0, 0, 0}},
        // ... and where Slurm's cgroups renumber, every task sees its own GPU as "0".
        {"srun --gpus-per-task=1, each task alone with its device", {worker("0")}, {1}, {0}},
        // srun --gpus-per-node=4 --ntasks=5: every task sees all four.
        {"srun --gpus-per-node=4, first node with the scheduler",
         {scheduler("0,1,2,3"), worker("0,1,2,3"), worker("0,1,2,3"), worker("0,1,2,3"),
          worker("0,1,2,3")},
         {4, 4, 4, 4, 4},
         {-1, 0, 1, 2, 3}},
        {"srun --gpus-per-node=4, second node",
         {worker("0,1,2,3"), worker("0,1,2,3"), worker("0,1,2,3"), worker("0,1,2,3")},
         {4, 4, 4, 4},
         {0, 1, 2, 3}},
        // Cyclic placement of 9 ranks over two 4-GPU nodes: node A holds world ranks 0,2,4,6,8
        // and node B 1,3,5,7. The local order is the world order within a node either way.
        {"cyclic over two nodes, node A",
         {scheduler(), worker(), worker(), worker(), worker()},
         {4, 4, 4, 4, 4},
         {-1, 0, 1, 2, 3}},
        {"cyclic over two nodes, node B",
         {worker(), worker(), worker(), worker()},
         {4, 4, 4, 4},
         {0, 1, 2, 3}},
        // Two groups on one node, as with two job steps' masks on one node: each group counts
        // from device 0 of what it sees.
        {"two device sets on one node",
         {worker("0,1"), worker("2,3"), worker("0,1"), worker("2,3")},
         {2, 2, 2, 2},
         {0, 0, 1, 1}},
        // One process, no MPI launcher: it trains itself.
        {"one process on a 2-GPU machine", {worker()}, {2}, {0}},
    };

    for (const Launch& launch : launches) {
        for (size_t local = 0; local < launch.node.size(); ++local) {
            INFO(launch.name << ", local rank " << local);
            Request request;
            request.host = "gpu-node";
            request.local_rank = static_cast<int>(local);
            request.cuda_devices = launch.cuda_devices[local];
            request.cores = 16;
            if (launch.expected_device[local] < 0) {
                CHECK_THROWS_AS(place(launch.node, request), sweep::MpiError);
                continue;
            }
            const auto placement = place(launch.node, request);
            CHECK(placement.cuda);
            CHECK(placement.device == launch.expected_device[local]);
            CHECK(placement.threads == 1);
        }
    }
}

TEST_CASE("placement: more workers than GPUs is refused, naming the host", "[placement]") {
    const std::vector<NodeRank> node = {scheduler(), worker(), worker(), worker()};
    Request request;
    request.host = "gpu-node-07";
    request.local_rank = 3;
    request.cuda_devices = 2;
    try {
        place(node, request);
        FAIL("three workers on two GPUs were accepted");
    } catch (const sweep::MpiError& error) {
        const std::string message = error.what();
        CHECK(message.find("gpu-node-07") != std::string::npos);
        CHECK(message.find("3 workers") != std::string::npos);
        CHECK(message.find("--share-gpus") != std::string::npos);
        CHECK(error.code() == sweep::kExitMpi);
    }

    SECTION("unless sharing is asked for: then they take turns over the devices") {
        request.share_gpus = true;
        std::vector<int> devices;
        for (int local = 1; local <= 3; ++local) {
            request.local_rank = local;
            devices.push_back(place(node, request).device);
        }
        CHECK(devices == std::vector<int>{0, 1, 0});
    }
}

TEST_CASE("placement: without a GPU the node's cores are shared among its workers", "[placement]") {
    struct Row {
        int workers, cores, threads_option;
        std::vector<int> expected;
    };
    const std::vector<Row> rows = {
        {2, 2, 0, {1, 1}},        // the 2-core test machine, mpirun -n 3
        {3, 8, 0, {3, 3, 2}},     // remainder to the first workers
        {4, 2, 0, {1, 1, 1, 1}},  // never fewer than one thread
        {2, 16, 3, {3, 3}},       // --threads wins
        {1, 4, 0, {4}},           // one process trains alone
    };
    for (const Row& row : rows) {
        std::vector<NodeRank> node = {scheduler()};
        for (int i = 0; i < row.workers; ++i) node.push_back(worker());
        for (int i = 0; i < row.workers; ++i) {
            INFO(row.workers << " workers, " << row.cores << " cores, worker " << i);
            Request request;
            request.host = "cpu-node";
            request.local_rank = i + 1;
            request.cores = row.cores;
            request.threads = row.threads_option;
            const auto placement = place(node, request);
            CHECK_FALSE(placement.cuda);
            CHECK(placement.threads == row.expected[i]);
        }
    }
}

TEST_CASE("placement: the variable as stored", "[placement]") {
    CHECK(sweep::placement::describe_visible(kUnset) == "(unset)");
    CHECK(sweep::placement::describe_visible(std::string("2,3")) == "2,3");
    CHECK(sweep::placement::describe_visible(std::string("")) == "");
}
