#include "sections.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "common/error.hpp"
#include "figures.hpp"
#include "metrics.hpp"

namespace sweep::report {
namespace {

namespace fs = std::filesystem;

// Learning curves per figure: more settings than this go to further figures, so that colours
// stay distinct and the key stays beside the plot.
constexpr size_t kRunsPerCurveFigure = 6;
// Most confused pairs shown per data set.
constexpr size_t kConfusedPairs = 3;
// Example test images shown per confused pair.
constexpr size_t kExamplesPerPair = 6;
// Points kept per ROC curve in plot data; the AUCs are computed on the full curves.
constexpr size_t kRocPlotPoints = 300;
// The label-noise rate whose true-versus-noisy counts are drawn.
constexpr double kNoiseMatrixEpsilon = 0.5;
// Two rates closer than this are the same study parameter (they come from YAML decimals).
constexpr double kSameRate = 1e-9;

std::string percent(double value) {
    return std::isnan(value) ? "n/a" : fmt::format("{:.3f}", value);
}

std::string auc_text(double auc, int decimals) {
    return std::isnan(auc) ? "n/a" : fmt::format("{:.{}f}", auc, decimals);
}

// A CSV field: quoted, with its quotes doubled, when it holds a comma, quote or line break.
std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
    std::string field = "\"";
    for (const char c : text) field += c == '"' ? std::string("\"\"") : std::string(1, c);
    return field + "\"";
}

// A file name stem from a data set's name: only lower-case letters, digits and '-'.
std::string file_stem(const std::string& dataset) {
    std::string stem;
    for (const char c : dataset) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        stem += plain ? c : (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : '-';
    }
    return stem.empty() ? "dataset" : stem;
}

// "name" for the first of a kind, "name-2", "name-3"... after it.
std::string numbered(const std::string& name, size_t index) {
    return index == 0 ? name : fmt::format("{}-{}", name, index + 1);
}

std::string image_link(const std::string& alt, const std::string& figure_name) {
    return fmt::format("![{}](figures/{}.png)\n\n", alt, figure_name);
}

// Class names from the file when they fit the matrix, else the class indices.
std::vector<std::string> class_names(const DatasetView& view, int classes) {
    if (view.info && static_cast<int>(view.info->class_names.size()) == classes) {
        return view.info->class_names;
    }
    std::vector<std::string> names;
    for (int c = 0; c < classes; ++c) names.push_back(std::to_string(c));
    return names;
}

int classes_of(const std::vector<int64_t>& matrix) {
    return static_cast<int>(std::lround(std::sqrt(static_cast<double>(matrix.size()))));
}

// A square matrix as CSV: a header of class names, then one row per class.
std::string matrix_csv(const std::string& corner, const std::vector<std::string>& names,
                       const std::vector<double>& values, int decimals) {
    std::string csv = csv_field(corner);
    for (const std::string& name : names) csv += "," + csv_field(name);
    csv += "\n";
    for (size_t row = 0; row < names.size(); ++row) {
        csv += csv_field(names[row]);
        for (size_t column = 0; column < names.size(); ++column) {
            csv += fmt::format(",{:.{}f}", values[row * names.size() + column], decimals);
        }
        csv += "\n";
    }
    return csv;
}

const UnitOutcome& unit_at(const DatasetView& view, int64_t index) {
    return view.outcomes->at(static_cast<size_t>(index));
}

std::vector<const SettingSummary*> with_runs(const std::vector<const SettingSummary*>& settings) {
    std::vector<const SettingSummary*> kept;
    for (const SettingSummary* setting : settings) {
        if (!setting->done_units.empty()) kept.push_back(setting);
    }
    return kept;
}

// Accuracies per epoch of a setting's best run, in percent.
RunCurve best_run_curve(const store::ResultReader& reader, const DatasetView& view,
                        const SettingSummary& setting) {
    const plan::Unit& unit = unit_at(view, setting.best_unit).unit;
    RunCurve run{fmt::format("{} seed {}", setting_label(unit), unit.seed), {}, {}};
    for (const train::EpochRecord& epoch : reader.unit_data(unit.index).curves) {
        run.train_accuracy.push_back(100 * epoch.train_accuracy);
        run.test_accuracy.push_back(100 * epoch.test_accuracy);
    }
    return run;
}

// Mean and sample standard deviation of the test accuracy per epoch over a setting's done runs.
BandCurve mean_test_curve(const store::ResultReader& reader, const SettingSummary& setting,
                          const std::string& label) {
    std::vector<std::vector<double>> per_epoch;
    for (const int64_t unit : setting.done_units) {
        const std::vector<train::EpochRecord> curves = reader.unit_data(unit).curves;
        if (per_epoch.size() < curves.size()) per_epoch.resize(curves.size());
        for (size_t e = 0; e < curves.size(); ++e) {
            per_epoch[e].push_back(100 * curves[e].test_accuracy);
        }
    }
    BandCurve curve{fmt::format("{} ({} run{})", label, setting.done_units.size(),
                                setting.done_units.size() == 1 ? "" : "s"),
                    {},
                    {}};
    for (const std::vector<double>& values : per_epoch) {
        const Summary summary = summarize(values);
        curve.mean.push_back(summary.mean);
        curve.std.push_back(summary.std);
    }
    return curve;
}

// Mean test accuracy per epoch over the seeds of each setting, with a ±1 std band.
std::string mean_learning_curves(const store::ResultReader& reader, const DatasetView& view,
                                 const ReportPaths& paths,
                                 const std::vector<const SettingSummary*>& settings) {
    std::string markdown =
        "Mean test accuracy per epoch over the done runs of each setting, with a band of ±1 "
        "sample standard deviation (none for a setting with one run).\n\n";
    const size_t figures = (settings.size() + kRunsPerCurveFigure - 1) / kRunsPerCurveFigure;
    for (size_t f = 0; f < figures; ++f) {
        const size_t end = std::min(settings.size(), (f + 1) * kRunsPerCurveFigure);
        std::vector<BandCurve> curves;
        for (size_t i = f * kRunsPerCurveFigure; i < end; ++i) {
            curves.push_back(
                mean_test_curve(reader, *settings[i], setting_label(settings[i]->setting)));
        }
        const std::string part = figures > 1 ? fmt::format(" ({} of {})", f + 1, figures) : "";
        const Figure figure{paths.figures, numbered(file_stem(view.name) + "-mean-curves", f),
                            fmt::format("{}: mean test accuracy per epoch over seeds, band ±1 "
                                        "standard deviation{}",
                                        dataset_title(view.name), part)};
        plot_band_curves(figure, "test accuracy (%)", curves);
        markdown += image_link("mean learning curves" + part, figure.name);
    }
    return markdown;
}

// The best run's train and test accuracy per setting, then the mean test accuracy over each
// setting's seeds with its band; both split into figures of kRunsPerCurveFigure settings.
std::string learning_curves(const store::ResultReader& reader, const DatasetView& view,
                            const ReportPaths& paths) {
    const std::vector<const SettingSummary*> settings = with_runs(view.settings);
    std::string markdown = "### Learning curves\n\n";
    if (settings.empty()) return markdown + "No setting has a done run yet.\n\n";

    markdown +=
        "Train and test accuracy per epoch of the best run (highest final test accuracy) of "
        "each setting. Train accuracy is measured against the training labels, noisy ones "
        "included.\n\n";
    const size_t figures = (settings.size() + kRunsPerCurveFigure - 1) / kRunsPerCurveFigure;
    for (size_t f = 0; f < figures; ++f) {
        const size_t end = std::min(settings.size(), (f + 1) * kRunsPerCurveFigure);
        std::vector<RunCurve> runs;
        for (size_t i = f * kRunsPerCurveFigure; i < end; ++i) {
            runs.push_back(best_run_curve(reader, view, *settings[i]));
        }
        const std::string part = figures > 1 ? fmt::format(" ({} of {})", f + 1, figures) : "";
        const Figure figure{paths.figures, numbered(file_stem(view.name) + "-curves", f),
                            fmt::format("{}: accuracy per epoch, best run of each setting{}",
                                        dataset_title(view.name), part)};
        plot_learning_curves(figure, runs);
        markdown += image_link("learning curves" + part, figure.name);
    }
    return markdown + mean_learning_curves(reader, view, paths, settings);
}

// The run the confusion, pairs and ROC sections show, with its test labels.
struct BestRun {
    plan::Unit unit;
    double accuracy = 0;  // percent
    store::UnitData data;
    std::vector<uint8_t> labels;  // the first predictions.size() test labels
    std::vector<std::string> names;
    int classes = 0;
};

BestRun load_best_run(const store::ResultReader& reader, const DatasetView& view,
                      const SettingSummary& setting) {
    BestRun run;
    const UnitOutcome& best = unit_at(view, setting.best_unit);
    run.unit = best.unit;
    run.accuracy = 100 * best.final_test_accuracy;
    run.data = reader.unit_data(run.unit.index);
    run.classes = classes_of(run.data.confusion);
    run.names = class_names(view, run.classes);

    // A unit with test_size T holds predictions and scores for the first T test images.
    const size_t tested = run.data.predictions.size();
    const std::vector<uint8_t>& labels = view.info->test_labels;
    if (tested > labels.size() ||
        run.data.scores.size() != tested * static_cast<size_t>(run.classes)) {
        throw StoreError(fmt::format(
            "unit {}: {} predictions and {} scores do not fit {} test images of {} classes",
            run.unit.index, tested, run.data.scores.size(), labels.size(), run.classes));
    }
    run.labels.assign(labels.begin(), labels.begin() + static_cast<std::ptrdiff_t>(tested));
    return run;
}

std::string confusion_section(const DatasetView& view, const ReportPaths& paths,
                              const BestRun& run) {
    const std::string stem = file_stem(view.name);
    const std::vector<double> rates = normalize_rows(run.data.confusion, run.classes);
    write_text(paths.dir / (stem + "-confusion.csv"),
               matrix_csv("true class \\ predicted class", run.names, rates, 4));

    const Figure figure{
        paths.figures, stem + "-confusion",
        fmt::format("{}: test confusion, rows normalized\n{} seed {}, {:.3f} % on {} test images",
                    dataset_title(view.name), setting_label(run.unit), run.unit.seed, run.accuracy,
                    run.labels.size())};
    plot_heat_map(figure, {run.names, rates, "true class", "predicted class",
                           "fraction of the true class", 2, 1.0});
    return fmt::format(
               "#### Confusion matrix\n\n"
               "Each row is one true class; a cell is the fraction of that class's test images "
               "predicted as the column's class ([{}-confusion.csv]({}-confusion.csv)).\n\n",
               stem, stem) +
           image_link("confusion matrix", figure.name);
}

std::vector<size_t> confused_examples(const BestRun& run, const ConfusedPair& pair) {
    std::vector<size_t> found;
    for (size_t i = 0; i < run.labels.size() && found.size() < kExamplesPerPair; ++i) {
        if (run.labels[i] == pair.true_class && run.data.predictions[i] == pair.predicted_class) {
            found.push_back(i);
        }
    }
    return found;
}

void plot_confused_examples(const DatasetView& view, const ReportPaths& paths, const BestRun& run,
                            const ConfusedPair& pair, const std::string& figure_name) {
    const store::DatasetInfo& info = *view.info;
    const size_t image_size = static_cast<size_t>(info.channels) * static_cast<size_t>(info.rows) *
                              static_cast<size_t>(info.cols);
    ImageStrip strip{info.channels, info.rows, info.cols, {}, {}};
    for (const size_t i : confused_examples(run, pair)) {
        const auto first = info.test_pixels.begin() + static_cast<std::ptrdiff_t>(i * image_size);
        strip.images.emplace_back(first, first + static_cast<std::ptrdiff_t>(image_size));
        strip.captions.push_back(fmt::format("#{}", i));
    }
    const std::string& truth = run.names[static_cast<size_t>(pair.true_class)];
    const std::string& guess = run.names[static_cast<size_t>(pair.predicted_class)];
    const std::string shown = static_cast<int64_t>(strip.images.size()) < pair.count
                                  ? fmt::format("the first {} shown", strip.images.size())
                                  : std::string("all shown");
    const Figure figure{paths.figures, figure_name,
                        fmt::format("{}→{}\ntrue {}, predicted {}: {} test images, {}", truth,
                                    guess, truth, guess, pair.count, shown)};
    plot_image_strip(figure, strip);
}

std::string confused_pairs_section(const DatasetView& view, const ReportPaths& paths,
                                   const BestRun& run) {
    const std::string stem = file_stem(view.name);
    const std::vector<ConfusedPair> pairs =
        most_confused_pairs(run.data.confusion, run.classes, kConfusedPairs);
    std::string markdown = "#### Most confused pairs\n\n";
    if (pairs.empty()) return markdown + "The run misclassified no test image.\n\n";

    markdown += fmt::format(
        "The {} largest off-diagonal cells of the confusion matrix; rate is the share of the "
        "true class's test images ([{}-confused-pairs.csv]({}-confused-pairs.csv)).\n\n",
        pairs.size(), stem, stem);
    markdown += "| true → predicted | count | rate % |\n| --- | ---: | ---: |\n";
    std::string csv = "rank,true_class,true_name,predicted_class,predicted_name,count,rate\n";
    std::string images;
    for (size_t k = 0; k < pairs.size(); ++k) {
        const ConfusedPair& pair = pairs[k];
        const std::string& truth = run.names[static_cast<size_t>(pair.true_class)];
        const std::string& guess = run.names[static_cast<size_t>(pair.predicted_class)];
        markdown +=
            fmt::format("| {}→{} | {} | {:.1f} |\n", truth, guess, pair.count, 100 * pair.rate);
        csv += fmt::format("{},{},{},{},{},{},{:.6f}\n", k + 1, pair.true_class, csv_field(truth),
                           pair.predicted_class, csv_field(guess), pair.count, pair.rate);
        const std::string name = fmt::format("{}-confused-{}", stem, k + 1);
        plot_confused_examples(view, paths, run, pair, name);
        images += image_link(truth + "→" + guess, name);
    }
    write_text(paths.dir / (stem + "-confused-pairs.csv"), csv);
    return markdown + "\nTest images of each pair, by test-set index:\n\n" + images;
}

std::string roc_section(const DatasetView& view, const ReportPaths& paths, const BestRun& run) {
    std::string markdown = "#### ROC curves\n\n";
    const std::vector<float>& scores = run.data.scores;
    if (std::any_of(scores.begin(), scores.end(), [](float s) { return std::isnan(s); })) {
        return markdown + "The run's scores hold NaN, so its ROC curves are omitted.\n\n";
    }

    const std::string stem = file_stem(view.name);
    std::vector<LabelledRoc> curves;
    std::string table = "| class | AUC |\n| --- | ---: |\n";
    std::string csv = "curve,class_name,auc\n";
    for (int c = 0; c < run.classes; ++c) {
        const RocCurve curve = one_vs_rest(scores, run.labels, run.classes, c);
        const std::string& name = run.names[static_cast<size_t>(c)];
        if (!curve.fpr.empty()) {
            curves.push_back({fmt::format("{}, AUC {}", name, auc_text(curve.auc, 3)),
                              thin(curve, kRocPlotPoints), false});
        }
        table += fmt::format("| {} | {} |\n", name, auc_text(curve.auc, 4));
        csv += fmt::format("{},{},{}\n", c, csv_field(name), auc_text(curve.auc, 6));
    }
    const RocCurve micro = micro_roc(scores, run.labels, run.classes);
    const double macro = macro_auc(scores, run.labels, run.classes);
    if (!micro.fpr.empty()) {
        curves.push_back({fmt::format("micro-average, AUC {}", auc_text(micro.auc, 3)),
                          thin(micro, kRocPlotPoints), true});
    }
    table += fmt::format("| micro-average | {} |\n| macro-average | {} |\n", auc_text(micro.auc, 4),
                         auc_text(macro, 4));
    csv += fmt::format("micro,micro-average,{}\nmacro,macro-average,{}\n", auc_text(micro.auc, 6),
                       auc_text(macro, 6));
    write_text(paths.dir / (stem + "-auc.csv"), csv);

    const Figure figure{paths.figures, stem + "-roc",
                        fmt::format("{}: one-vs-rest ROC, {} seed {}\nmicro-average AUC {}, "
                                    "macro-average AUC {}",
                                    dataset_title(view.name), setting_label(run.unit),
                                    run.unit.seed, auc_text(micro.auc, 4), auc_text(macro, 4))};
    plot_roc_curves(figure, curves);
    markdown += fmt::format(
        "Each class against the rest, ranked by the run's softmax score for the class; the "
        "micro-average pools every (image, class) pair, the macro-average is the mean of the "
        "classes' AUCs ([{}-auc.csv]({}-auc.csv)).\n\n",
        stem, stem);
    return markdown + table + "\n" + image_link("ROC curves", figure.name);
}

std::string best_run_sections(const store::ResultReader& reader, const DatasetView& view,
                              const ReportPaths& paths) {
    const SettingSummary* best = best_clean_setting(view.settings);
    if (!best) {
        return "### Best setting\n\nNo setting without label noise has a done run, so the "
               "confusion matrix, most confused pairs and ROC curves are omitted.\n\n";
    }
    if (!view.info) {
        return fmt::format(
            "### Best setting\n\nThe test split of this data set cannot be read from the result "
            "file ({}), so the confusion matrix, most confused pairs and ROC curves are "
            "omitted.\n\n",
            view.info_error);
    }
    const BestRun run = load_best_run(reader, view, *best);
    std::string markdown = fmt::format("### Best setting: {}\n\n", setting_label(run.unit));
    markdown += fmt::format(
        "Of the settings without label noise, {} has the highest mean final test accuracy "
        "({} % over {} run{}). The sections below show its best run, unit {} (seed {}, "
        "{:.3f} %), on its {} test images.\n\n",
        setting_label(run.unit), percent(best->accuracy.mean), best->accuracy.count,
        best->accuracy.count == 1 ? "" : "s", run.unit.index, run.unit.seed, run.accuracy,
        run.labels.size());
    markdown += confusion_section(view, paths, run);
    markdown += confused_pairs_section(view, paths, run);
    return markdown + roc_section(view, paths, run);
}

std::string noise_counts_section(const store::ResultReader& reader, const DatasetView& view,
                                 const ReportPaths& paths) {
    int64_t first = -1;
    for (const SettingSummary* setting : view.settings) {
        if (std::abs(setting->setting.epsilon - kNoiseMatrixEpsilon) > kSameRate) continue;
        for (const int64_t unit : setting->done_units) {
            if (first < 0 || unit < first) first = unit;
        }
    }
    std::string markdown = fmt::format("### Training labels at ε = {}\n\n", kNoiseMatrixEpsilon);
    if (first < 0) {
        return markdown +
               fmt::format("No done run has label noise ε = {}.\n\n", kNoiseMatrixEpsilon);
    }

    const plan::Unit& unit = unit_at(view, first).unit;
    const std::vector<int64_t> counts = reader.unit_data(first).noise_counts;
    const int classes = classes_of(counts);
    const std::vector<std::string> names = class_names(view, classes);
    const std::vector<double> values(counts.begin(), counts.end());
    const std::string stem = file_stem(view.name);
    write_text(paths.dir / (stem + "-noise-counts.csv"),
               matrix_csv("true class \\ noisy label", names, values, 0));

    const Figure figure{paths.figures, stem + "-noise-counts",
                        fmt::format("{}: training labels after symmetric noise, ε = {}\n"
                                    "unit {}, {} seed {}",
                                    dataset_title(view.name), unit.epsilon, unit.index,
                                    setting_label(unit), unit.seed)};
    plot_heat_map(figure, {names, values, "true class", "noisy label", "training images", 0, 0.0});
    markdown += fmt::format(
        "Training images by true class (rows) and the label the run trained on (columns), from "
        "unit {} ({} seed {}), the first done run at this rate ([{}-noise-counts.csv]"
        "({}-noise-counts.csv)).\n\n",
        unit.index, setting_label(unit), unit.seed, stem, stem);
    return markdown + image_link("training labels, true against noisy", figure.name);
}

// Settings of one data set that differ only in epsilon, sorted by epsilon.
using NoiseStudy = std::vector<const SettingSummary*>;

std::vector<NoiseStudy> noise_studies(const std::vector<const SettingSummary*>& settings) {
    std::vector<NoiseStudy> studies;
    std::map<std::string, size_t> position;  // setting key without epsilon → study
    for (const SettingSummary* setting : settings) {
        plan::Unit without_noise = setting->setting;
        without_noise.epsilon = 0;
        const auto [found, inserted] =
            position.emplace(without_noise.setting_key(), studies.size());
        if (inserted) studies.emplace_back();
        studies[found->second].push_back(setting);
    }

    std::vector<NoiseStudy> kept;
    for (NoiseStudy& study : studies) {
        std::sort(study.begin(), study.end(), [](const auto* a, const auto* b) {
            return a->setting.epsilon < b->setting.epsilon;
        });
        if (study.size() > 1 && study.back()->setting.epsilon > 0) kept.push_back(study);
    }
    return kept;
}

std::string noise_study_section(const store::ResultReader& reader, const DatasetView& view,
                                const ReportPaths& paths, const NoiseStudy& study, size_t index) {
    plan::Unit clean = study.front()->setting;
    clean.epsilon = 0;
    const std::string stem = file_stem(view.name);
    const std::string name = numbered(stem + "-epsilon", index);
    std::string markdown = fmt::format(
        "### Test accuracy against label noise ε: {}\n\n"
        "Final test accuracy over the seeds of each noise rate ε ([{}.csv]({}.csv)).\n\n",
        setting_label(clean), name, name);
    // Failed and pending units get columns only when there are some, as in the main table.
    const bool not_done = std::any_of(study.begin(), study.end(), [](const auto* setting) {
        return setting->failed > 0 || setting->pending > 0;
    });
    markdown += not_done ? "| ε | failed | pending | runs | mean % | std % |\n"
                           "| ---: | ---: | ---: | ---: | ---: | ---: |\n"
                         : "| ε | runs | mean % | std % |\n| ---: | ---: | ---: | ---: |\n";
    std::string csv =
        "dataset,optimizer,lr,gamma,momentum,epsilon,runs,failed,pending,mean_percent,"
        "std_percent\n";
    std::vector<BandCurve> curves;
    for (const SettingSummary* setting : study) {
        const plan::Unit& s = setting->setting;
        markdown += fmt::format("| {} |", s.epsilon);
        if (not_done) markdown += fmt::format(" {} | {} |", setting->failed, setting->pending);
        markdown += fmt::format(" {} | {} | {} |\n", setting->accuracy.count,
                                percent(setting->accuracy.mean), percent(setting->accuracy.std));
        csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", s.dataset, s.optimizer, s.lr,
                           s.gamma, s.momentum, s.epsilon, setting->accuracy.count, setting->failed,
                           setting->pending, percent(setting->accuracy.mean),
                           percent(setting->accuracy.std));
        if (!setting->done_units.empty()) {
            curves.push_back(mean_test_curve(reader, *setting, fmt::format("ε = {}", s.epsilon)));
        }
    }
    write_text(paths.dir / (name + ".csv"), csv);
    if (curves.size() < 2) return markdown + "\nFewer than two noise rates have a done run.\n\n";

    const Figure figure{paths.figures, name,
                        fmt::format("{}: test accuracy per epoch under label noise ε\n{}; mean "
                                    "over seeds, band ±1 standard deviation",
                                    dataset_title(view.name), setting_label(clean))};
    plot_band_curves(figure, "test accuracy (%)", curves);
    return markdown + "\n" + image_link("test accuracy per epoch for each ε", figure.name);
}

std::string label_noise_sections(const store::ResultReader& reader, const DatasetView& view,
                                 const ReportPaths& paths) {
    const bool noisy = std::any_of(view.settings.begin(), view.settings.end(),
                                   [](const auto* s) { return s->setting.epsilon > 0; });
    if (!noisy) return "### Label noise\n\nNo setting of this data set has label noise.\n\n";

    std::string markdown = noise_counts_section(reader, view, paths);
    const std::vector<NoiseStudy> studies = noise_studies(view.settings);
    if (studies.empty()) {
        return markdown +
               "### Test accuracy against label noise\n\nNo two settings differ "
               "only in ε, so there is no noise study to compare.\n\n";
    }
    for (size_t i = 0; i < studies.size(); ++i) {
        markdown += noise_study_section(reader, view, paths, studies[i], i);
    }
    return markdown;
}

}  // namespace

const SettingSummary* best_clean_setting(const std::vector<const SettingSummary*>& settings) {
    const SettingSummary* best = nullptr;
    for (const SettingSummary* setting : settings) {
        if (setting->setting.epsilon != 0 || setting->done_units.empty()) continue;
        if (!best || setting->accuracy.mean > best->accuracy.mean) best = setting;
    }
    return best;
}

std::string dataset_title(const std::string& dataset) {
    static const std::map<std::string, std::string> kTitles = {
        {"mnist", "MNIST"}, {"fashion-mnist", "Fashion-MNIST"}, {"cifar10", "CIFAR-10"}};
    const auto found = kTitles.find(dataset);
    return found == kTitles.end() ? dataset : found->second;
}

std::string setting_label(const plan::Unit& setting) {
    std::string label = fmt::format("{} lr={}", setting.optimizer, setting.lr);
    if (setting.gamma != 0) label += fmt::format(" γ={}", setting.gamma);
    if (setting.optimizer == "sgd") label += fmt::format(" m={}", setting.momentum);
    if (setting.epsilon != 0) label += fmt::format(" ε={}", setting.epsilon);
    return label;
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw Error(fmt::format("{}: cannot write", path.string()), kExitReport);
}

std::string dataset_sections(const store::ResultReader& reader, const DatasetView& view,
                             const ReportPaths& paths) {
    std::string markdown = learning_curves(reader, view, paths);
    markdown += best_run_sections(reader, view, paths);
    return markdown + label_noise_sections(reader, view, paths);
}

}  // namespace sweep::report
