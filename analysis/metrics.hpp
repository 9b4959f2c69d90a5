// Owns the report's classification metrics: normalized confusion, most-confused pairs, ROC, AUC.
// Needs only the standard library; knows nothing of MPI, HDF5 or Torch.
// Pure functions, safe to call from any thread. Inconsistent sizes throw std::invalid_argument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sweep::report {

// A confusion matrix is classes × classes counts, row-major, indexed [true][predicted].

// Each row divided by its total, so a row reads as "of the samples of this class, the fraction
// predicted as each class". A row with no samples stays all zeros rather than NaN.
std::vector<double> normalize_rows(const std::vector<int64_t>& counts, int classes);

// One off-diagonal cell of a confusion matrix: true_class mistaken for predicted_class.
struct ConfusedPair {
    int true_class = 0;
    int predicted_class = 0;
    int64_t count = 0;
    double rate = 0;  // count / samples of true_class, in [0, 1]
};

// The off-diagonal cells with the most samples, at most how_many of them; cells with count 0 are
// never returned, so fewer may come back. Order: count descending; equal counts put the higher
// rate first (the smaller true-class total); then the smaller true class; then the smaller
// predicted class. The order is thus total and does not depend on the sort's stability.
std::vector<ConfusedPair> most_confused_pairs(const std::vector<int64_t>& counts, int classes,
                                              size_t how_many);

// A receiver operating characteristic: false and true positive rates at every distinct score,
// from the highest threshold down. fpr and tpr have equal length; the curve starts at (0, 0)
// and ends at (1, 1). Tied scores make one step, a diagonal segment when the tie holds both
// positives and negatives. auc is the trapezoid area under the curve, which equals the
// probability that a random positive outscores a random negative, ties counting half.
// With no positives or no negatives the curve is empty and auc is NaN.
struct RocCurve {
    std::vector<double> fpr;
    std::vector<double> tpr;
    double auc = 0;
};

// Binary ROC: positive[i] != 0 marks sample i as positive. A NaN score throws, since it has no
// place in the ranking.
RocCurve roc_curve(const std::vector<float>& scores, const std::vector<uint8_t>& positive);

// Multi-class scores are n × classes, row-major; labels holds each sample's true class.

// Class cls against all others, ranked by column cls.
RocCurve one_vs_rest(const std::vector<float>& scores, const std::vector<uint8_t>& labels,
                     int classes, int cls);

// Mean of the one-vs-rest AUCs, each class weighing the same; classes whose AUC is NaN (absent
// from labels, or the only class present) are left out. NaN when every class is.
double macro_auc(const std::vector<float>& scores, const std::vector<uint8_t>& labels, int classes);

// All n × classes (score, is the true class) pairs pooled into one binary problem, so every
// sample weighs the same and frequent classes dominate.
RocCurve micro_roc(const std::vector<float>& scores, const std::vector<uint8_t>& labels,
                   int classes);

// At most max_points points of the curve, for plots: the first and the last always, the rest
// evenly spaced by index. auc is copied unchanged, so it stays the area of the full curve.
// A curve that already fits comes back whole; max_points below 2 throws.
RocCurve thin(const RocCurve& curve, size_t max_points);

}  // namespace sweep::report
