#include "train/train.hpp"

#include <dlfcn.h>
#include <fmt/format.h>
#include <malloc.h>

#include <chrono>
#include <cmath>

#include <torch/version.h>
#include "model/lenet.hpp"
#include "train/tensors.hpp"

namespace sweep::train {

namespace {

using Clock = std::chrono::steady_clock;

// glibc serves blocks from this size up with mmap and unmaps them when freed, and returns the
// heap's free top to the system beyond the trim threshold; by default both adapt, yet a
// training step's buffers (1 to 20 MiB) still come back as fresh zeroed pages now and then.
// Fixing the mmap threshold at its maximum (32 MiB on 64-bit) and the trim threshold high keeps
// them in the process. With channels-last convolutions (model/lenet.cpp) that made training on
// one core a fifth faster; either one alone gained little (tests/bench measures it).
constexpr int kMmapThreshold = 32 << 20;   // bytes; the whole training split stays above it
constexpr int kTrimThreshold = 512 << 20;  // bytes of free heap kept before any goes back

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

torch::Tensor normalized_images(const data::ImageSet& images, const data::Normalization& norm,
                                const torch::Device& device) {
    // from_blob does not copy; the clone below owns the bytes before the source may go away.
    auto bytes =
        torch::from_blob(const_cast<uint8_t*>(images.pixels.data()),
                         {images.count, images.channels, images.rows, images.cols}, torch::kUInt8);
    torch::Tensor scaled = bytes.to(torch::kFloat32).div_(255.0f);
    scaled.sub_(norm.mean).div_(norm.std);
    return scaled.to(device).contiguous();
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const plan::Unit& unit,
                                                        model::LeNet5& net) {
    if (unit.optimizer == "adam") {
        return std::make_unique<torch::optim::Adam>(net->parameters(),
                                                    torch::optim::AdamOptions(unit.lr));
    }
    return std::make_unique<torch::optim::SGD>(
        net->parameters(), torch::optim::SGDOptions(unit.lr).momentum(unit.momentum));
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
    for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

struct Evaluation {
    double loss = 0;
    double accuracy = 0;
    torch::Tensor logits;  // test images × classes, on the CPU
};

Evaluation evaluate(model::LeNet5& net, const PreparedData::Tensors& tensors, int64_t batch_size,
                    bool keep_logits) {
    torch::NoGradGuard no_grad;
    net->eval();
    const int64_t count = tensors.test_images.size(0);
    double loss_sum = 0;
    int64_t correct = 0;
    std::vector<torch::Tensor> logits;
    for (int64_t start = 0; start < count; start += batch_size) {
        const int64_t end = std::min(count, start + batch_size);
        torch::Tensor output = net->forward(tensors.test_images.slice(0, start, end));
        torch::Tensor target = tensors.test_labels.slice(0, start, end);
        loss_sum += torch::nn::functional::cross_entropy(
                        output, target,
                        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                        .item<double>();
        correct += output.argmax(1).eq(target).sum().item<int64_t>();
        if (keep_logits) logits.push_back(output.to(torch::kCPU));
    }
    net->train();
    Evaluation result{loss_sum / count, static_cast<double>(correct) / count, {}};
    if (keep_logits) result.logits = torch::cat(logits);
    return result;
}

// Drops the gradients rather than zeroing them: the next backward pass then stores each
// gradient instead of adding it to zeros, two tensor operations fewer per parameter and batch.
void clear_gradients(torch::optim::Optimizer& optimizer) {
    for (auto& group : optimizer.param_groups()) {
        for (auto& parameter : group.params()) parameter.mutable_grad().reset();
    }
}

struct EpochTotals {
    double loss = 0;
    double accuracy = 0;
};

EpochTotals train_epoch(model::LeNet5& net, torch::optim::Optimizer& optimizer,
                        const PreparedData::Tensors& tensors, const torch::Tensor& labels,
                        int64_t batch_size, torch::Generator& shuffle,
                        const StopCheck& should_stop) {
    const int64_t count = tensors.train_images.size(0);
    torch::Tensor order =
        torch::randperm(count, shuffle, torch::kInt64).to(tensors.train_images.device());
    torch::Tensor loss_sum = torch::zeros({}, torch::kFloat64).to(order.device());
    torch::Tensor correct = torch::zeros({}, torch::kInt64).to(order.device());

    for (int64_t start = 0; start < count; start += batch_size) {
        if (should_stop && should_stop()) throw UnitInterrupted("stopped at a batch boundary");
        torch::Tensor batch = order.slice(0, start, std::min(count, start + batch_size));
        torch::Tensor images = tensors.train_images.index_select(0, batch);
        torch::Tensor target = labels.index_select(0, batch);

        clear_gradients(optimizer);
        torch::Tensor output = net->forward(images);
        torch::Tensor loss = torch::nn::functional::cross_entropy(output, target);
        loss.backward();
        optimizer.step();

        loss_sum += loss.detach().to(torch::kFloat64) * batch.size(0);
        correct += output.detach().argmax(1).eq(target).sum();
    }
    return {loss_sum.item<double>() / count, static_cast<double>(correct.item<int64_t>()) / count};
}

std::vector<int64_t> confusion_matrix(const std::vector<int16_t>& predictions,
                                      const std::vector<uint8_t>& truth, int classes) {
    std::vector<int64_t> matrix(static_cast<size_t>(classes) * classes, 0);
    for (size_t i = 0; i < predictions.size(); ++i) {
        ++matrix[static_cast<size_t>(truth[i]) * classes + predictions[i]];
    }
    return matrix;
}

}  // namespace

torch::Device torch_device(const Device& device) {
    return device.cuda ? torch::Device(torch::kCUDA, static_cast<int16_t>(device.index))
                       : torch::Device(torch::kCPU);
}

torch::Tensor label_tensor(const std::vector<uint8_t>& labels, const torch::Device& device) {
    auto bytes = torch::from_blob(const_cast<uint8_t*>(labels.data()),
                                  {static_cast<int64_t>(labels.size())}, torch::kUInt8);
    return bytes.to(torch::kInt64).to(device);
}

void record_final_test(const torch::Tensor& logits, const data::Dataset& dataset,
                       UnitResult& result) {
    torch::Tensor probabilities = torch::softmax(logits, 1).contiguous();
    torch::Tensor predicted = logits.argmax(1).to(torch::kInt16).contiguous();
    result.scores.assign(probabilities.data_ptr<float>(),
                         probabilities.data_ptr<float>() + probabilities.numel());
    result.predictions.assign(predicted.data_ptr<int16_t>(),
                              predicted.data_ptr<int16_t>() + predicted.numel());
    result.confusion =
        confusion_matrix(result.predictions, dataset.test.labels, dataset.class_count);
}

std::string Device::describe() const {
    return cuda ? fmt::format("cuda:{}", index)
                : fmt::format("cpu ({} thread{})", threads, threads == 1 ? "" : "s");
}

std::string torch_version() {
    return TORCH_VERSION;
}

int cuda_device_count() {
    return static_cast<int>(torch::cuda::device_count());
}

void set_cpu_threads(int threads) {
    mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
    mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
    at::set_num_threads(threads);
    // Debian's LibTorch calls the system libblas.so.3; OpenBLAS starts one thread per core
    // unless told otherwise, which oversubscribes a node running several workers.
    using SetThreads = void (*)(int);
    if (auto set_blas =
            reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
        set_blas(threads);
    }
}

uint64_t stream_seed(int64_t unit_seed, Stream stream) {
    // splitmix64 of (seed, stream): nearby seeds give unrelated streams.
    uint64_t z = static_cast<uint64_t>(unit_seed) * 0x9e3779b97f4a7c15ULL +
                 static_cast<uint64_t>(stream) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

PreparedData::PreparedData(const data::Dataset& dataset, const Device& device)
    : dataset_(dataset),
      normalization_(data::compute_normalization(dataset.train.images)),
      tensors_(new Tensors) {
    const torch::Device target = torch_device(device);
    tensors_->train_images = normalized_images(dataset.train.images, normalization_, target);
    tensors_->test_images = normalized_images(dataset.test.images, normalization_, target);
    tensors_->test_labels = label_tensor(dataset.test.labels, target);
}

PreparedData::~PreparedData() {
    delete tensors_;
}

UnitResult train_unit(const plan::Unit& unit, const PreparedData& data, const Device& device,
                      const StopCheck& should_stop) {
    const Clock::time_point unit_start = Clock::now();
    const data::Dataset& dataset = data.dataset();
    const torch::Device target = torch_device(device);
    UnitResult result;

    data::NoisyLabels noisy =
        data::apply_symmetric_noise(dataset.train.labels, dataset.class_count, unit.epsilon,
                                    stream_seed(unit.seed, Stream::kNoise));
    result.noise_counts = std::move(noisy.counts);
    const torch::Tensor train_labels = label_tensor(noisy.labels, target);

    torch::manual_seed(stream_seed(unit.seed, Stream::kInit));
    const auto& images = dataset.train.images;
    model::LeNet5 net(images.channels, images.rows, dataset.class_count);
    net->to(target);
    auto optimizer = make_optimizer(unit, net);
    torch::Generator shuffle =
        at::make_generator<at::CPUGeneratorImpl>(stream_seed(unit.seed, Stream::kShuffle));

    double lr = unit.lr;
    Evaluation test;
    for (int64_t epoch = 1; epoch <= unit.epochs; ++epoch) {
        const Clock::time_point epoch_start = Clock::now();
        const EpochTotals totals = train_epoch(net, *optimizer, data.tensors(), train_labels,
                                               unit.batch_size, shuffle, should_stop);
        if (!std::isfinite(totals.loss)) {
            throw UnitFailed(fmt::format("training loss is {} in epoch {}", totals.loss, epoch));
        }
        test = evaluate(net, data.tensors(), unit.test_batch_size, epoch == unit.epochs);
        result.curves.push_back({epoch, totals.loss, totals.accuracy, test.loss, test.accuracy, lr,
                                 seconds_since(epoch_start)});
        if (unit.gamma > 0) {
            lr *= unit.gamma;
            set_learning_rate(*optimizer, lr);
        }
    }
    record_final_test(test.logits, dataset, result);
    result.seconds = seconds_since(unit_start);
    return result;
}

}  // namespace sweep::train
