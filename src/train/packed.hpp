// Owns the training of several compatible units at once as one batched LeNet-5 (a pack).
// Needs LibTorch inside packed.cpp only; this header is plain C++ so callers build fast.
// Not safe across threads, as train.hpp: Torch's thread pool and global seed are per process.
#pragma once

#include <string>
#include <vector>

#include "plan/plan.hpp"
#include "train/train.hpp"

namespace sweep::train {

// What became of one unit of a pack. When error is empty, result is exactly what train_unit
// would have returned for the unit, up to float rounding (see train_units_packed). Otherwise
// the unit failed alone, as train_unit would have thrown UnitFailed with this message; result
// then holds only the epochs before the failure and must not be stored as done.
struct PackedOutcome {
    UnitResult result;
    std::string error;
};

// True when two units may train in one pack: the same data set and data directory, the same
// train and test sizes (so one PreparedData serves both), batch size and test batch size.
// Optimizer, learning rate, gamma, momentum, epsilon, seed and epochs may all differ.
bool packable(const plan::Unit& a, const plan::Unit& b);

// Trains units (every one packable with the first) as one model of units.size() slots:
// grouped convolutions and batched matrix products, one optimizer step for all slots per
// batch. Each slot keeps what makes its unit: initial weights, label noise and shuffling
// from the unit's seed as in train_unit, its optimizer (SGD with momentum or Adam; both may
// share a pack), learning rate, gamma schedule and epochs. The loss is the sum of the slots'
// mean cross-entropies, so each slot gets its lone gradient. Slot results differ from lone
// ones only by float rounding: grouped kernels sum in another order than the lone ones.
// A list of one unit is trained by train_unit itself.
//
// Returns one outcome per unit, in the order given. A slot whose epoch loss is not finite
// fails alone and leaves the pack; so does a slot whose epochs are done. Every epoch record
// of a slot carries the pack's wall time for that epoch, and result.seconds the time from the
// start of the pack to the slot's last epoch. should_stop is asked at every batch boundary
// and abandons the whole pack with UnitInterrupted. Throws std::invalid_argument for an empty
// or incompatible list; any other exception (out of memory, a Torch error) concerns every
// unit of the pack, which the caller may then train alone.
std::vector<PackedOutcome> train_units_packed(const std::vector<plan::Unit>& units,
                                              const PreparedData& data, const Device& device,
                                              const StopCheck& should_stop = {});

}  // namespace sweep::train
