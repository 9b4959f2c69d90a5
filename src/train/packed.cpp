#include "train/packed.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "model/lenet.hpp"
#include "train/tensors.hpp"

namespace sweep::train {
namespace {

namespace F = torch::nn::functional;
using Clock = std::chrono::steady_clock;

// Layout of convolution weights and batch images. In channels-last, oneDNN runs a grouped
// convolution in place; in the default layout it measured 1.5 to 2.5 times slower on the CPU.
constexpr at::MemoryFormat kConvLayout = at::MemoryFormat::ChannelsLast;

// Test images per forward pass. Evaluation needs no gradient, so a piece of a test batch gives
// the same logits as the whole batch, and 64 keeps the pack's feature maps small.
constexpr int64_t kTestPiece = 64;

// Slot-images per forward and backward pass of training: a batch of 64 images for 2 slots.
// Larger passes spill the feature maps (slots · 6 · 28 · 28 floats per image after the first
// convolution) out of a 2 MiB L2 cache; 8 slots in one pass ran about 10% slower.
constexpr int64_t kSlotImagesPerPass = 128;

// Adam's constants: LibTorch's defaults, which train_unit's torch::optim::Adam uses.
constexpr double kAdamBeta1 = 0.9;
constexpr double kAdamBeta2 = 0.999;
constexpr double kAdamEps = 1e-8;

// The parameters of LeNet-5 in the order of LeNet5Impl::parameters().
enum Parameter {
    kConv1Weight,
    kConv1Bias,
    kConv2Weight,
    kConv2Bias,
    kFc1Weight,
    kFc1Bias,
    kFc2Weight,
    kFc2Bias,
    kFc3Weight,
    kFc3Bias,
    kParameterCount
};

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

torch::Tensor in_layout(const torch::Tensor& tensor) {
    return tensor.dim() == 4 ? tensor.contiguous(kConvLayout) : tensor.contiguous();
}

// One unit of the pack. Slots are kept in pack order: SGD slots first, then Adam slots.
struct Slot {
    size_t unit;  // position in the caller's list
    bool adam;
    double lr;  // learning rate of the current epoch
    torch::Generator shuffle;
    torch::Tensor labels;  // noisy training labels, int64, on the training device
};

// Every slot's LeNet-5 stacked along dimension 0: slot k owns rows [k·r, (k + 1)·r) of a
// parameter with r rows per slot (r = out channels for convolutions, 1 for the fully
// connected layers, whose weights are slots × out × in and biases slots × 1 × out).
// The optimizer state lies beside the parameters, row for row.
struct Pack {
    int64_t slots = 0;
    int64_t sgd_slots = 0;  // slots [0, sgd_slots) use SGD, the others Adam
    int64_t padding = 0;    // of the first convolution
    int64_t adam_steps = 0;
    std::vector<torch::Tensor> parameters;
    std::vector<int64_t> rows;
    std::vector<torch::Tensor> momentum_buffers;  // SGD rows used
    std::vector<torch::Tensor> exp_avgs;          // Adam rows used
    std::vector<torch::Tensor> exp_avg_sqs;
    std::vector<torch::Tensor> negative_lrs;  // per row, shaped to broadcast over a parameter
    std::vector<torch::Tensor> momenta;
};

// Builds the pack from each slot's lone LeNet-5, made under the unit's init seed exactly as
// train_unit makes it, so every slot starts from the unit's own initial weights.
Pack make_pack(const std::vector<plan::Unit>& units, const std::vector<Slot>& slots,
               const data::Dataset& dataset, const torch::Device& device) {
    const auto& images = dataset.train.images;
    Pack pack;
    pack.slots = static_cast<int64_t>(slots.size());
    pack.sgd_slots =
        std::count_if(slots.begin(), slots.end(), [](const Slot& s) { return !s.adam; });
    pack.padding = images.rows == 28 ? 2 : 0;  // as LeNet5Impl pads its first convolution
    std::vector<std::vector<torch::Tensor>> lone(kParameterCount);
    for (const Slot& slot : slots) {
        torch::manual_seed(stream_seed(units[slot.unit].seed, Stream::kInit));
        model::LeNet5 net(images.channels, images.rows, dataset.class_count);
        const auto parameters = net->parameters();
        for (int i = 0; i < kParameterCount; ++i) lone[i].push_back(parameters[i].detach());
    }

    torch::NoGradGuard no_grad;
    for (int i = 0; i < kParameterCount; ++i) {
        const bool convolution = i <= kConv2Bias;
        torch::Tensor stacked = convolution ? torch::cat(lone[i]) : torch::stack(lone[i]);
        const bool linear_bias = i == kFc1Bias || i == kFc2Bias || i == kFc3Bias;
        if (linear_bias) stacked = stacked.unsqueeze(1);  // slots × 1 × out, for baddbmm
        pack.rows.push_back(convolution ? lone[i][0].size(0) : 1);
        pack.parameters.push_back(in_layout(stacked.to(device)).requires_grad_());
        pack.momentum_buffers.push_back(torch::zeros_like(pack.parameters.back()));
        pack.exp_avgs.push_back(torch::zeros_like(pack.parameters.back()));
        pack.exp_avg_sqs.push_back(torch::zeros_like(pack.parameters.back()));
    }
    return pack;
}

// A per-slot value repeated over a parameter's rows, shaped to broadcast over it.
torch::Tensor per_row(const std::vector<double>& values, const torch::Tensor& parameter,
                      int64_t rows) {
    std::vector<int64_t> shape(static_cast<size_t>(parameter.dim()), 1);
    shape[0] = parameter.size(0);
    return torch::tensor(values, torch::kFloat32)
        .repeat_interleave(rows)
        .view(shape)
        .to(parameter.device());
}

// Sets each slot's learning rate and momentum for the optimizer steps to come.
void set_rates(Pack& pack, const std::vector<Slot>& slots, const std::vector<plan::Unit>& units) {
    std::vector<double> negative_lr, momentum;
    for (const Slot& slot : slots) {
        negative_lr.push_back(-slot.lr);
        momentum.push_back(slot.adam ? 0.0 : units[slot.unit].momentum);
    }
    pack.negative_lrs.clear();
    pack.momenta.clear();
    for (int i = 0; i < kParameterCount; ++i) {
        pack.negative_lrs.push_back(per_row(negative_lr, pack.parameters[i], pack.rows[i]));
        pack.momenta.push_back(per_row(momentum, pack.parameters[i], pack.rows[i]));
    }
}

// One step of every slot's optimizer, with LibTorch's arithmetic: SGD keeps
// buffer = momentum · buffer + gradient (which is the gradient itself at the first step, as
// LibTorch starts it) and moves by −lr · buffer; Adam as torch::optim::Adam without decay.
void optimizer_step(Pack& pack) {
    torch::NoGradGuard no_grad;
    const bool any_adam = pack.sgd_slots < pack.slots;
    if (any_adam) ++pack.adam_steps;
    const double correction1 = 1 - std::pow(kAdamBeta1, static_cast<double>(pack.adam_steps));
    const double correction2 = 1 - std::pow(kAdamBeta2, static_cast<double>(pack.adam_steps));

    for (int i = 0; i < kParameterCount; ++i) {
        torch::Tensor& parameter = pack.parameters[i];
        const torch::Tensor gradient = parameter.grad();
        const int64_t sgd_rows = pack.sgd_slots * pack.rows[i];
        const int64_t adam_rows = parameter.size(0) - sgd_rows;
        if (sgd_rows > 0) {
            torch::Tensor buffer = pack.momentum_buffers[i].narrow(0, 0, sgd_rows);
            buffer.mul_(pack.momenta[i].narrow(0, 0, sgd_rows))
                .add_(gradient.narrow(0, 0, sgd_rows));
            parameter.narrow(0, 0, sgd_rows)
                .addcmul_(buffer, pack.negative_lrs[i].narrow(0, 0, sgd_rows));
        }
        if (adam_rows > 0) {
            const torch::Tensor adam_gradient = gradient.narrow(0, sgd_rows, adam_rows);
            torch::Tensor exp_avg = pack.exp_avgs[i].narrow(0, sgd_rows, adam_rows);
            torch::Tensor exp_avg_sq = pack.exp_avg_sqs[i].narrow(0, sgd_rows, adam_rows);
            exp_avg.mul_(kAdamBeta1).add_(adam_gradient, 1 - kAdamBeta1);
            exp_avg_sq.mul_(kAdamBeta2).addcmul_(adam_gradient, adam_gradient, 1 - kAdamBeta2);
            const torch::Tensor denominator =
                (exp_avg_sq.sqrt() / std::sqrt(correction2)).add_(kAdamEps);
            parameter.narrow(0, sgd_rows, adam_rows)
                .addcmul_(exp_avg / denominator,
                          pack.negative_lrs[i].narrow(0, sgd_rows, adam_rows), 1 / correction1);
        }
    }
}

// Keeps the slots for which keep is true, in order, with their parameters and state.
void keep_slots(Pack& pack, std::vector<Slot>& slots, const std::vector<bool>& keep) {
    std::vector<int64_t> kept;
    for (size_t k = 0; k < slots.size(); ++k) {
        if (keep[k]) kept.push_back(static_cast<int64_t>(k));
    }
    if (kept.size() == slots.size()) return;

    std::vector<Slot> remaining;
    for (const int64_t k : kept) remaining.push_back(slots[static_cast<size_t>(k)]);
    slots = std::move(remaining);
    pack.slots = static_cast<int64_t>(slots.size());
    pack.sgd_slots =
        std::count_if(slots.begin(), slots.end(), [](const Slot& s) { return !s.adam; });

    torch::NoGradGuard no_grad;
    const torch::Tensor kept_slots = torch::tensor(kept, torch::kInt64);
    for (int i = 0; i < kParameterCount; ++i) {
        const int64_t rows = pack.rows[i];
        const torch::Tensor index =
            (kept_slots.unsqueeze(1) * rows + torch::arange(rows).unsqueeze(0))
                .flatten()
                .to(pack.parameters[i].device());
        const auto pick = [&](const torch::Tensor& t) {
            return in_layout(t.index_select(0, index));
        };
        pack.parameters[i] = pick(pack.parameters[i]).requires_grad_();
        pack.momentum_buffers[i] = pick(pack.momentum_buffers[i]);
        pack.exp_avgs[i] = pick(pack.exp_avgs[i]);
        pack.exp_avg_sqs[i] = pick(pack.exp_avg_sqs[i]);
    }
}

// From the first pooling's output (batch × slots·6 × 14 × 14) to logits, slots × batch ×
// classes. Each slot sees only its own channels: grouped convolution, batched products.
torch::Tensor forward_tail(const Pack& pack, torch::Tensor maps) {
    const auto& p = pack.parameters;
    const int64_t batch = maps.size(0);
    maps = F::conv2d(maps, p[kConv2Weight],
                     F::Conv2dFuncOptions().bias(p[kConv2Bias]).groups(pack.slots));
    maps = F::max_pool2d(torch::relu(maps), F::MaxPool2dFuncOptions(2));
    // Per slot, the lone model's flatten order: channel, row, column.
    torch::Tensor x = maps.reshape({batch, pack.slots, -1}).transpose(0, 1);
    x = torch::relu(torch::baddbmm(p[kFc1Bias], x, p[kFc1Weight].transpose(1, 2)));
    x = torch::relu(torch::baddbmm(p[kFc2Bias], x, p[kFc2Weight].transpose(1, 2)));
    return torch::baddbmm(p[kFc3Bias], x, p[kFc3Weight].transpose(1, 2));
}

// Training forward pass: images are batch × slots·channels × rows × cols, slot k's batch in
// channels [k·channels, (k + 1)·channels).
torch::Tensor forward_slots(const Pack& pack, const torch::Tensor& images) {
    const auto& p = pack.parameters;
    torch::Tensor maps = F::conv2d(
        images, p[kConv1Weight],
        F::Conv2dFuncOptions().bias(p[kConv1Bias]).padding(pack.padding).groups(pack.slots));
    return forward_tail(pack, F::max_pool2d(torch::relu(maps), F::MaxPool2dFuncOptions(2)));
}

// Forward pass of one batch that every slot sees (the test split): the first convolution
// needs no groups, as each slot's filters read the same input channels.
torch::Tensor forward_shared(const Pack& pack, const torch::Tensor& images) {
    const auto& p = pack.parameters;
    torch::Tensor maps =
        F::conv2d(model::channels_last(images), p[kConv1Weight],
                  F::Conv2dFuncOptions().bias(p[kConv1Bias]).padding(pack.padding));
    return forward_tail(pack, F::max_pool2d(torch::relu(maps), F::MaxPool2dFuncOptions(2)));
}

// Logits of a test batch, slots × images × classes. The batch goes through in pieces, as
// all slots' feature maps of a whole test batch would not fit in the CPU's caches.
torch::Tensor forward_test_batch(const Pack& pack, const torch::Tensor& images) {
    std::vector<torch::Tensor> pieces;
    const int64_t piece = images.is_cpu() ? kTestPiece : images.size(0);
    for (int64_t start = 0; start < images.size(0); start += piece) {
        pieces.push_back(forward_shared(pack, images.slice(0, start, start + piece)));
    }
    return torch::cat(pieces, 1);
}

// The images of a batch (slots × n indices into the training split) as n × slots·channels ×
// rows × cols, slot k's in channels [k·channels, (k + 1)·channels), channels-last, one copy.
torch::Tensor slot_images(const torch::Tensor& train_images, const torch::Tensor& batch) {
    const int64_t slots = batch.size(0), n = batch.size(1);
    const int64_t channels = train_images.size(1), rows = train_images.size(2),
                  cols = train_images.size(3);
    const torch::Tensor picked =
        train_images.index_select(0, batch.flatten()).view({slots, n, channels, rows, cols});
    return picked.permute({1, 3, 4, 0, 2})
        .contiguous()
        .view({n, rows, cols, slots * channels})
        .permute({0, 3, 1, 2});
}

// Gradients of one batch, slot k's in its rows: the sum over slots of each slot's mean
// cross-entropy, so each slot gets its lone gradient. The batch goes through in pieces of
// about kSlotImagesPerPass slot-images whose gradients add up, so that the feature maps of
// all slots stay in the CPU's caches. Returns each slot's mean loss over the batch and adds
// its correct predictions to correct.
torch::Tensor backward_batch(const Pack& pack, const torch::Tensor& train_images,
                             const torch::Tensor& batch, const torch::Tensor& target,
                             torch::Tensor& correct) {
    const int64_t n = batch.size(1);
    const int64_t piece = train_images.is_cpu()
                              ? std::max<int64_t>(1, kSlotImagesPerPass / pack.slots)
                              : n;  // a GPU has no such cache to fit, and wants large passes
    torch::Tensor batch_loss = torch::zeros({pack.slots}, train_images.options());
    for (int64_t start = 0; start < n; start += piece) {
        const int64_t m = std::min(piece, n - start);
        const torch::Tensor piece_target = target.narrow(1, start, m);
        const torch::Tensor logits =
            forward_slots(pack, slot_images(train_images, batch.narrow(1, start, m)));
        const torch::Tensor losses =
            F::cross_entropy(logits.flatten(0, 1), piece_target.flatten(),
                             F::CrossEntropyFuncOptions().reduction(torch::kNone))
                .view({pack.slots, m})
                .sum(1)
                .div(n);
        losses.sum().backward();
        batch_loss += losses.detach();
        correct += logits.detach().argmax(2).eq(piece_target).sum(1);
    }
    return batch_loss;
}

struct SlotTotals {
    std::vector<double> loss;  // mean over the images seen, per slot
    std::vector<double> accuracy;
};

SlotTotals to_slot_totals(const torch::Tensor& loss_sum, const torch::Tensor& correct,
                          int64_t count) {
    const torch::Tensor loss = (loss_sum / static_cast<double>(count)).cpu();
    const torch::Tensor accuracy = (correct.to(torch::kFloat64) / count).cpu();
    return {std::vector<double>(loss.data_ptr<double>(), loss.data_ptr<double>() + loss.numel()),
            std::vector<double>(accuracy.data_ptr<double>(),
                                accuracy.data_ptr<double>() + accuracy.numel())};
}

// One epoch of every slot, each on its own shuffle of the training split.
SlotTotals train_epoch(Pack& pack, std::vector<Slot>& slots, const PreparedData::Tensors& tensors,
                       int64_t batch_size, const StopCheck& should_stop) {
    const int64_t count = tensors.train_images.size(0);
    const torch::Device device = tensors.train_images.device();
    std::vector<torch::Tensor> orders, labels;
    for (Slot& slot : slots) {
        orders.push_back(torch::randperm(count, slot.shuffle, torch::kInt64));
        labels.push_back(slot.labels);
    }
    const torch::Tensor order = torch::stack(orders).to(device);
    const torch::Tensor slot_labels = torch::stack(labels);
    torch::Tensor loss_sum = torch::zeros({pack.slots}, torch::kFloat64).to(device);
    torch::Tensor correct = torch::zeros({pack.slots}, torch::kInt64).to(device);

    for (int64_t start = 0; start < count; start += batch_size) {
        if (should_stop && should_stop()) throw UnitInterrupted("stopped at a batch boundary");
        const int64_t n = std::min(count, start + batch_size) - start;
        const torch::Tensor batch = order.narrow(1, start, n);
        const torch::Tensor target = slot_labels.gather(1, batch);

        for (torch::Tensor& parameter : pack.parameters) parameter.mutable_grad().reset();
        const torch::Tensor batch_loss =
            backward_batch(pack, tensors.train_images, batch, target, correct);
        optimizer_step(pack);
        loss_sum += batch_loss.to(torch::kFloat64) * n;
    }
    return to_slot_totals(loss_sum, correct, count);
}

struct SlotEvaluation {
    SlotTotals totals;
    torch::Tensor logits;  // slots × test images × classes, on the CPU
};

SlotEvaluation evaluate(const Pack& pack, const PreparedData::Tensors& tensors, int64_t batch_size,
                        bool keep_logits) {
    torch::NoGradGuard no_grad;
    const int64_t count = tensors.test_images.size(0);
    const torch::Device device = tensors.test_images.device();
    torch::Tensor loss_sum = torch::zeros({pack.slots}, torch::kFloat64).to(device);
    torch::Tensor correct = torch::zeros({pack.slots}, torch::kInt64).to(device);
    std::vector<torch::Tensor> logits;
    for (int64_t start = 0; start < count; start += batch_size) {
        const int64_t end = std::min(count, start + batch_size);
        const torch::Tensor output =
            forward_test_batch(pack, tensors.test_images.slice(0, start, end));
        const torch::Tensor target =
            tensors.test_labels.slice(0, start, end).expand({pack.slots, end - start});
        loss_sum += F::cross_entropy(output.flatten(0, 1), target.flatten(),
                                     F::CrossEntropyFuncOptions().reduction(torch::kNone))
                        .view({pack.slots, end - start})
                        .sum(1)
                        .to(torch::kFloat64);
        correct += output.argmax(2).eq(target).sum(1);
        if (keep_logits) logits.push_back(output.to(torch::kCPU));
    }
    SlotEvaluation result{to_slot_totals(loss_sum, correct, count), {}};
    if (keep_logits) result.logits = torch::cat(logits, 1);
    return result;
}

// Each unit's label noise and shuffling stream, as train_unit draws them; SGD slots first.
std::vector<Slot> make_slots(const std::vector<plan::Unit>& units, const data::Dataset& dataset,
                             const torch::Device& device, std::vector<PackedOutcome>& outcomes) {
    std::vector<Slot> slots;
    for (size_t u = 0; u < units.size(); ++u) {
        const plan::Unit& unit = units[u];
        data::NoisyLabels noisy =
            data::apply_symmetric_noise(dataset.train.labels, dataset.class_count, unit.epsilon,
                                        stream_seed(unit.seed, Stream::kNoise));
        outcomes[u].result.noise_counts = std::move(noisy.counts);
        slots.push_back(
            {u, unit.optimizer == "adam", unit.lr,
             at::make_generator<at::CPUGeneratorImpl>(stream_seed(unit.seed, Stream::kShuffle)),
             label_tensor(noisy.labels, device)});
    }
    std::stable_partition(slots.begin(), slots.end(), [](const Slot& s) { return !s.adam; });
    return slots;
}

// Keeps the values of the slots for which keep is true.
void keep_values(std::vector<double>& values, const std::vector<bool>& keep) {
    std::vector<double> kept;
    for (size_t k = 0; k < values.size(); ++k) {
        if (keep[k]) kept.push_back(values[k]);
    }
    values = std::move(kept);
}

// Fails the slots whose epoch loss is not finite, with train_unit's message, and drops them
// from the pack, so that their NaN weights cost no more time.
void drop_failed(Pack& pack, std::vector<Slot>& slots, SlotTotals& totals, int64_t epoch,
                 Clock::time_point pack_start, std::vector<PackedOutcome>& outcomes) {
    std::vector<bool> finite(slots.size());
    for (size_t k = 0; k < slots.size(); ++k) {
        finite[k] = std::isfinite(totals.loss[k]);
        if (finite[k]) continue;
        PackedOutcome& outcome = outcomes[slots[k].unit];
        outcome.error = fmt::format("training loss is {} in epoch {}", totals.loss[k], epoch);
        outcome.result.seconds = seconds_since(pack_start);
    }
    keep_values(totals.loss, finite);
    keep_values(totals.accuracy, finite);
    keep_slots(pack, slots, finite);
}

struct EpochEnd {
    int64_t epoch;
    double seconds;  // wall time of the epoch's training and test, shared by all slots
    Clock::time_point pack_start;
    const data::Dataset* dataset;
};

// Records the epoch of every slot. Slots whose epochs are done get their final test outputs
// and leave the pack; the others move on to their next learning rate.
void finish_epoch(Pack& pack, std::vector<Slot>& slots, const std::vector<plan::Unit>& units,
                  const SlotTotals& totals, const SlotEvaluation& test, const EpochEnd& end,
                  std::vector<PackedOutcome>& outcomes) {
    std::vector<bool> going_on(slots.size());
    for (size_t k = 0; k < slots.size(); ++k) {
        Slot& slot = slots[k];
        const plan::Unit& unit = units[slot.unit];
        UnitResult& result = outcomes[slot.unit].result;
        result.curves.push_back({end.epoch, totals.loss[k], totals.accuracy[k], test.totals.loss[k],
                                 test.totals.accuracy[k], slot.lr, end.seconds});
        going_on[k] = end.epoch < unit.epochs;
        if (!going_on[k]) {
            record_final_test(test.logits[static_cast<int64_t>(k)], *end.dataset, result);
            result.seconds = seconds_since(end.pack_start);
        } else if (unit.gamma > 0) {
            slot.lr *= unit.gamma;
        }
    }
    keep_slots(pack, slots, going_on);
}

// A pack of one is the unit trained alone: train_unit is at least as fast for one model.
PackedOutcome train_alone(const plan::Unit& unit, const PreparedData& data, const Device& device,
                          const StopCheck& should_stop) {
    PackedOutcome outcome;
    try {
        outcome.result = train_unit(unit, data, device, should_stop);
    } catch (const UnitFailed& failure) {
        outcome.error = failure.what();
    }
    return outcome;
}

}  // namespace

bool packable(const plan::Unit& a, const plan::Unit& b) {
    return a.dataset == b.dataset && a.data_dir == b.data_dir && a.train_size == b.train_size &&
           a.test_size == b.test_size && a.batch_size == b.batch_size &&
           a.test_batch_size == b.test_batch_size;
}

std::vector<PackedOutcome> train_units_packed(const std::vector<plan::Unit>& units,
                                              const PreparedData& data, const Device& device,
                                              const StopCheck& should_stop) {
    if (units.empty()) throw std::invalid_argument("pack: no units to train");
    for (const plan::Unit& unit : units) {
        if (!packable(units.front(), unit)) {
            throw std::invalid_argument(fmt::format("pack: unit {} cannot train with unit {}",
                                                    unit.index, units.front().index));
        }
    }
    if (units.size() == 1) return {train_alone(units.front(), data, device, should_stop)};

    const Clock::time_point pack_start = Clock::now();
    const data::Dataset& dataset = data.dataset();
    const torch::Device target = torch_device(device);
    std::vector<PackedOutcome> outcomes(units.size());
    std::vector<Slot> slots = make_slots(units, dataset, target, outcomes);
    Pack pack = make_pack(units, slots, dataset, target);

    for (int64_t epoch = 1; !slots.empty(); ++epoch) {
        const Clock::time_point epoch_start = Clock::now();
        set_rates(pack, slots, units);
        SlotTotals totals =
            train_epoch(pack, slots, data.tensors(), units.front().batch_size, should_stop);
        drop_failed(pack, slots, totals, epoch, pack_start, outcomes);
        if (slots.empty()) break;

        const bool any_last = std::any_of(slots.begin(), slots.end(), [&](const Slot& slot) {
            return units[slot.unit].epochs == epoch;
        });
        const SlotEvaluation test =
            evaluate(pack, data.tensors(), units.front().test_batch_size, any_last);
        EpochEnd end{epoch, seconds_since(epoch_start), pack_start, &dataset};
        finish_epoch(pack, slots, units, totals, test, end, outcomes);
    }
    return outcomes;
}

}  // namespace sweep::train
