#include "figures.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.hpp"

extern char** environ;

namespace sweep::report {
namespace {

namespace fs = std::filesystem;

const char* const kGnuplotMissing = "gnuplot: not found; install the Debian package gnuplot-nox";

// Canvas of a plot, in pixels, and its font: large enough to read at normal size.
constexpr int kWidth = 900;
constexpr int kHeight = 650;
const char* const kFont = "DejaVu Sans,12";
const char* const kTitleFont = ",13";  // the same face, a point larger, for titles
// Font of the numbers printed in heat-map cells: smaller, so "0.93" fits a cell of 10 × 10.
const char* const kCellFont = "DejaVu Sans,10";
// Height of a strip of example images: one row of small squares under a two-line title.
constexpr int kStripHeight = 270;
// Colours of the lines, in order: ten that stay apart for most colour-blind readers.
const char* const kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr int kColourCount = sizeof kColours / sizeof kColours[0];
// The key of line plots: under the plot in two columns, so that long labels leave it its width.
const char* const kKeyBelow = "set key below left Left reverse maxcols 2 width 2 height 1\n";
// Line plots fit their y axis to the data plus 2 percentage points, so that no line runs along
// the frame (a diverged run sits at chance, a good one near 100 %).
const char* const kPadY = "set autoscale yfix\nset offsets 0, 0, 2, 2\n";
// Shorter runs get a tic per epoch; longer ones leave the tics to gnuplot.
constexpr size_t kMaxEpochTics = 20;
// Class names up to this many bytes stand upright under a heat map's columns; longer ones slant.
constexpr size_t kUprightTicChars = 3;
// A cell's number turns white when its colour is darker than this fraction of the colour bar.
constexpr double kDarkCell = 0.55;

// A gnuplot double-quoted string literal. Backslash and double quote are escaped and a newline
// becomes \n, so no text from the result file can end the literal and run as a command.
std::string quoted(const std::string& text) {
    std::string literal = "\"";
    for (const char c : text) {
        if (c == '\\' || c == '"') {
            literal += '\\';
            literal += c;
        } else if (c == '\n') {
            literal += "\\n";
        } else if (static_cast<unsigned char>(c) < 0x20) {
            literal += ' ';  // other control characters have no business in a label
        } else {
            literal += c;
        }
    }
    return literal + "\"";
}

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw Error(fmt::format("{}: cannot write", path.string()), kExitReport);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The lines every script opens with: what it is, the terminal, the output, the title, colours.
std::string preamble(const Figure& figure, int width, int height) {
    std::string script = fmt::format(
        "# {}.png, drawn by sweep-report from {}.dat. To restyle it, edit this file and run\n"
        "# `gnuplot {}.gp` in this folder.\n",
        figure.name, figure.name, figure.name);
    script += "set encoding utf8\n";
    script += fmt::format("set terminal pngcairo size {},{} font {} noenhanced\n", width, height,
                          quoted(kFont));
    script += fmt::format("set output {}\n", quoted(figure.name + ".png"));
    for (int i = 0; i < kColourCount; ++i) {
        script += fmt::format(
            "set linetype {} linecolor rgb {} linewidth 2 pointtype 7 "
            "pointsize 0.8\n",
            i + 1, quoted(kColours[i]));
    }
    script += fmt::format("set linetype cycle {}\n", kColourCount);
    return script;
}

std::string title_line(const Figure& figure) {
    return fmt::format("set title {} font {}\n", quoted(figure.title), quoted(kTitleFont));
}

// Runs gnuplot on dir/name.gp inside dir and waits for it. gnuplot's messages go to
// dir/name.log, kept only when it has something to say.
void run_gnuplot(const Figure& figure) {
    const fs::path dir = fs::absolute(figure.dir);
    const std::string script = figure.name + ".gp";
    const fs::path log = dir / (figure.name + ".log");

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    // The directory travels as a quoted gnuplot literal, never through a shell.
    std::string change_dir = "cd " + quoted(dir.string());
    std::string program = "gnuplot", option = "-e";
    std::string script_arg = script;
    char* argv[] = {program.data(), option.data(), change_dir.data(), script_arg.data(), nullptr};

    pid_t pid = 0;
    const int spawned = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned == ENOENT) throw Error(kGnuplotMissing, kExitReport);
    if (spawned != 0) {
        throw Error(fmt::format("gnuplot: cannot start: {}", std::strerror(spawned)), kExitReport);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            throw Error(fmt::format("gnuplot: waitpid: {}", std::strerror(errno)), kExitReport);
        }
    }

    const std::string messages = read_file(log);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        const std::string how = WIFEXITED(status)
                                    ? fmt::format("exit status {}", WEXITSTATUS(status))
                                    : fmt::format("signal {}", WTERMSIG(status));
        throw Error(
            fmt::format("gnuplot: {} failed ({}): {}", (dir / script).string(), how, messages),
            kExitReport);
    }
    if (messages.empty()) fs::remove(log);
}

// Writes the data and the script, then draws.
void draw(const Figure& figure, const std::string& data, const std::string& script) {
    write_file(figure.dir / (figure.name + ".dat"), data);
    write_file(figure.dir / (figure.name + ".gp"), script);
    run_gnuplot(figure);
}

// gnuplot reads "NaN" as a missing value, so write it that way.
std::string number(double value) {
    return std::isnan(value) ? std::string("NaN") : fmt::format("{}", value);
}

std::string epoch_axis(size_t epochs) {
    std::string script = "set xlabel \"epoch\"\n";
    if (epochs <= kMaxEpochTics) script += "set xtics 1\n";
    // Half an epoch of margin, so one-epoch runs still show their point.
    script += fmt::format("set xrange [0.5:{}]\n", static_cast<double>(epochs) + 0.5);
    return script;
}

// Tics that name the classes, in index order.
std::string class_tics(const std::vector<std::string>& names) {
    std::string tics = "(";
    for (size_t i = 0; i < names.size(); ++i) {
        tics += fmt::format("{}{} {}", i ? ", " : "", quoted(names[i]), i);
    }
    return tics + ")";
}

// The ROC plot's frame in screen fractions, fixed so that a zoomed inset can sit in its lower
// right, where the curves of a classifier better than chance seldom pass.
struct Frame {
    double left, right, bottom, top;
};
constexpr Frame kRocFrame{0.09, 0.62, 0.12, 0.86};
// The inset: where it sits, in the main plot's axes, and what it shows.
constexpr double kInsetLeft = 0.5, kInsetRight = 0.95;  // false positive rate
constexpr double kInsetBottom = 0.1, kInsetTop = 0.5;   // true positive rate
constexpr double kInsetZoom = 0.2;                      // shows false positive rates 0 to this
// The inset is drawn only when every curve has climbed above it (tpr 0.6, a margin for its
// title) before it starts (fpr 0.43, a margin for its tic labels).
constexpr double kInsetClearFpr = 0.43, kInsetClearTpr = 0.6;
// ... and only when it helps: when every curve is crowded into the top left corner, above this
// true positive rate at a false positive rate of a tenth of the zoom.
constexpr double kInsetMinFloor = 0.3;

// The highest true positive rate a curve reaches at or below a false positive rate.
double tpr_at(const RocCurve& curve, double fpr) {
    double tpr = 0;
    for (size_t p = 0; p < curve.fpr.size() && curve.fpr[p] <= fpr; ++p) {
        tpr = std::max(tpr, curve.tpr[p]);
    }
    return tpr;
}

// The lower end of the inset's true positive axis: the lowest curve's rate at a false positive
// rate of a tenth of the zoom, rounded down to a tenth. NaN when the inset would hide a curve or
// show nothing the main plot does not, and is then left out.
double zoom_floor(const std::vector<LabelledRoc>& curves) {
    double lowest = 1;
    for (const LabelledRoc& roc : curves) {
        if (tpr_at(roc.curve, kInsetClearFpr) < kInsetClearTpr) return std::nan("");
        lowest = std::min(lowest, tpr_at(roc.curve, kInsetZoom / 10));
    }
    const double floor = std::floor(lowest * 10) / 10;
    return floor < kInsetMinFloor ? std::nan("") : std::min(0.9, floor);
}

double screen_x(double fpr) {
    return kRocFrame.left + (kRocFrame.right - kRocFrame.left) * fpr;
}

double screen_y(double tpr) {
    return kRocFrame.bottom + (kRocFrame.top - kRocFrame.bottom) * tpr;
}

// The plot clauses of the curves; with a key for the main plot, without one for the inset.
std::string roc_lines(const Figure& figure, const std::vector<LabelledRoc>& curves, bool with_key) {
    const std::string file = quoted(figure.name + ".dat");
    std::string lines;
    int colour = 0;
    for (size_t i = 0; i < curves.size(); ++i) {
        const std::string style = curves[i].emphasized
                                      ? "linecolor \"black\" linewidth 3"
                                      : fmt::format("linetype {}", colour++ % kColourCount + 1);
        const std::string key = with_key ? "title " + quoted(curves[i].label) : "notitle";
        lines += fmt::format("  {} index {} using 1:2 with lines {} {}, \\\n", file, i, style, key);
    }
    return lines + fmt::format("  x with lines linecolor \"gray50\" dashtype 3 linewidth 1 {}\n",
                               with_key ? "title \"chance\"" : "notitle");
}

// Settings for the inset: the top left corner of the plot, enlarged, on a white ground.
std::string roc_inset(double floor) {
    std::string script = "unset key\nunset xlabel\nunset ylabel\n";
    script += fmt::format(
        "set lmargin at screen {}\nset rmargin at screen {}\nset bmargin at screen {}\n"
        "set tmargin at screen {}\n",
        screen_x(kInsetLeft), screen_x(kInsetRight), screen_y(kInsetBottom), screen_y(kInsetTop));
    script += fmt::format(
        "set object 1 rectangle from screen {},{} to screen {},{} behind fillcolor rgb "
        "\"white\" fillstyle solid 1.0 border linecolor rgb \"gray60\"\n",
        screen_x(kInsetLeft - 0.09), screen_y(kInsetBottom - 0.08), screen_x(kInsetRight + 0.02),
        screen_y(kInsetTop + 0.07));
    script += "set title \"top left corner, enlarged\" font \",10\" offset 0,-0.6\n";
    script += fmt::format("set xrange [0:{}]\nset yrange [{}:1]\n", kInsetZoom, floor);
    script += fmt::format("set xtics {} font \",9\"\nset ytics 0.1 font \",9\"\n", kInsetZoom / 2);
    return script;
}

}  // namespace

void require_gnuplot() {
    const char* path = std::getenv("PATH");
    std::string_view dirs = path ? path : "/usr/bin:/bin";
    while (true) {
        const size_t colon = dirs.find(':');
        const std::string dir(dirs.substr(0, colon));
        const fs::path candidate = fs::path(dir.empty() ? "." : dir) / "gnuplot";
        std::error_code error;
        if (fs::is_regular_file(candidate, error) && access(candidate.c_str(), X_OK) == 0) return;
        if (colon == std::string_view::npos) break;
        dirs.remove_prefix(colon + 1);
    }
    throw Error(kGnuplotMissing, kExitReport);
}

void plot_learning_curves(const Figure& figure, const std::vector<RunCurve>& runs) {
    std::string data = "# epoch, train accuracy (%), test accuracy (%); one block per run\n";
    size_t epochs = 0;
    for (size_t i = 0; i < runs.size(); ++i) {
        data += fmt::format("{}# {}\n", i ? "\n\n" : "", runs[i].label);
        const RunCurve& run = runs[i];
        for (size_t e = 0; e < run.test_accuracy.size(); ++e) {
            data += fmt::format("{} {} {}\n", e + 1, number(run.train_accuracy[e]),
                                number(run.test_accuracy[e]));
        }
        epochs = std::max(epochs, run.test_accuracy.size());
    }

    std::string script = preamble(figure, kWidth, kHeight) + title_line(figure);
    script += epoch_axis(epochs);
    script += std::string("set ylabel \"accuracy (%)\"\nset grid\n") + kKeyBelow + kPadY;
    script += "plot \\\n";
    const std::string file = quoted(figure.name + ".dat");
    for (size_t i = 0; i < runs.size(); ++i) {
        const int type = static_cast<int>(i) % kColourCount + 1;
        script += fmt::format(
            "  {} index {} using 1:2 with linespoints linetype {} dashtype 2 pointtype 6 "
            "notitle, \\\n"
            "  {} index {} using 1:3 with linespoints linetype {} title {}, \\\n",
            file, i, type, file, i, type, quoted(runs[i].label));
    }
    // Two key entries that explain the line and point styles once, instead of twice per run.
    script +=
        "  NaN with linespoints linecolor \"black\" dashtype 1 pointtype 7 title \"test "
        "(solid, filled)\", \\\n"
        "  NaN with linespoints linecolor \"black\" dashtype 2 pointtype 6 title \"train "
        "(dashed, open)\"\n";
    draw(figure, data, script);
}

void plot_heat_map(const Figure& figure, const HeatMap& map) {
    const size_t classes = map.class_names.size();
    double top = map.range_max;
    for (const double value : map.values) top = std::max(top, value);
    if (top <= 0) top = 1;

    std::string data = fmt::format("# column ({}), row ({}), {}, colour of the printed value\n",
                                   map.column_label, map.row_label, map.value_label);
    for (size_t row = 0; row < classes; ++row) {
        for (size_t column = 0; column < classes; ++column) {
            const double value = map.values[row * classes + column];
            const char* ink = value > kDarkCell * top ? "0xffffff" : "0x000000";
            data += fmt::format("{} {} {} {}\n", column, row, number(value), ink);
        }
        data += "\n";
    }

    const double last = static_cast<double>(classes) - 0.5;
    std::string script = preamble(figure, kWidth, kHeight) + title_line(figure);
    script += "set size ratio 1\nunset key\nset tics scale 0\n";
    script += fmt::format("set xrange [-0.5:{}]\nset yrange [{}:-0.5]\n", last, last);
    // Names longer than a digit or two would run into each other under the columns.
    const bool long_names =
        std::any_of(map.class_names.begin(), map.class_names.end(),
                    [](const std::string& name) { return name.size() > kUprightTicChars; });
    script += fmt::format("set xtics {}{}\n", class_tics(map.class_names),
                          long_names ? " rotate by 35 right" : "");
    script += fmt::format("set ytics {}\n", class_tics(map.class_names));
    script += fmt::format("set xlabel {}\nset ylabel {}\nset cblabel {}\n",
                          quoted(map.column_label), quoted(map.row_label), quoted(map.value_label));
    script += fmt::format("set cbrange [0:{}]\n", top);
    script += "set palette defined (0 \"#ffffff\", 1 \"#6baed6\", 2 \"#08306b\")\n";
    const std::string file = quoted(figure.name + ".dat");
    script += fmt::format(
        "plot {} using 1:2:3 with image, \\\n"
        "  {} using 1:2:(sprintf(\"%.{}f\", $3)):4 with labels textcolor rgb variable "
        "font {}\n",
        file, file, map.decimals, quoted(kCellFont));
    draw(figure, data, script);
}

void plot_image_strip(const Figure& figure, const ImageStrip& strip) {
    const bool colour = strip.channels == 3;
    const size_t plane = static_cast<size_t>(strip.rows) * static_cast<size_t>(strip.cols);
    std::string data = colour ? "# column, row, red, green, blue; one block per image\n"
                              : "# column, row, intensity 0-255; one block per image\n";
    for (size_t i = 0; i < strip.images.size(); ++i) {
        data += fmt::format("{}# {}\n", i ? "\n\n" : "", strip.captions[i]);
        const std::vector<uint8_t>& pixels = strip.images[i];
        for (size_t y = 0; y < static_cast<size_t>(strip.rows); ++y) {
            for (size_t x = 0; x < static_cast<size_t>(strip.cols); ++x) {
                const size_t at = y * static_cast<size_t>(strip.cols) + x;
                if (colour) {
                    data += fmt::format("{} {} {} {} {}\n", x, y, pixels[at], pixels[plane + at],
                                        pixels[2 * plane + at]);
                } else {
                    data += fmt::format("{} {} {}\n", x, y, pixels[at]);
                }
            }
            data += "\n";
        }
    }

    std::string script = preamble(figure, kWidth, kStripHeight);
    script += "set lmargin 1\nset rmargin 1\n";
    script += fmt::format("set multiplot layout 1,{} title {} font {}\n",
                          std::max<size_t>(strip.images.size(), 1), quoted(figure.title),
                          quoted(kTitleFont));
    script += "unset key\nunset tics\nunset colorbox\nset size ratio -1\n";
    script += "set palette gray\nset cbrange [0:255]\n";
    script += fmt::format("set xrange [-0.5:{}]\nset yrange [{}:-0.5]\n", strip.cols - 0.5,
                          strip.rows - 0.5);
    const std::string file = quoted(figure.name + ".dat");
    for (size_t i = 0; i < strip.images.size(); ++i) {
        script += fmt::format("set title {}\n", quoted(strip.captions[i]));
        script += fmt::format("plot {} index {} using 1:2:{} with {}\n", file, i,
                              colour ? "3:4:5" : "3", colour ? "rgbimage" : "image");
    }
    script += "unset multiplot\n";
    draw(figure, data, script);
}

void plot_roc_curves(const Figure& figure, const std::vector<LabelledRoc>& curves) {
    std::string data = "# false positive rate, true positive rate; one block per curve\n";
    for (size_t i = 0; i < curves.size(); ++i) {
        data += fmt::format("{}# {}\n", i ? "\n\n" : "", curves[i].label);
        const RocCurve& curve = curves[i].curve;
        for (size_t p = 0; p < curve.fpr.size(); ++p) {
            data += fmt::format("{} {}\n", curve.fpr[p], curve.tpr[p]);
        }
    }

    std::string script = preamble(figure, kWidth, kHeight) + title_line(figure);
    script += fmt::format(
        "set lmargin at screen {}\nset rmargin at screen {}\nset bmargin at screen {}\n"
        "set tmargin at screen {}\n",
        kRocFrame.left, kRocFrame.right, kRocFrame.bottom, kRocFrame.top);
    script += fmt::format("set key at screen 0.98,{} top right\nset grid\n", kRocFrame.top);
    script += "set xrange [0:1]\nset yrange [0:1]\nset xtics 0.2\nset ytics 0.2\n";
    script += "set xlabel \"false positive rate\"\nset ylabel \"true positive rate\"\n";
    const std::string lines = roc_lines(figure, curves, true);
    const double floor = zoom_floor(curves);
    if (std::isnan(floor)) {
        draw(figure, data, script + "plot \\\n" + lines);
        return;
    }
    script += "set multiplot\nplot \\\n" + lines + roc_inset(floor);
    script += "plot \\\n" + roc_lines(figure, curves, false) + "unset multiplot\n";
    draw(figure, data, script);
}

void plot_band_curves(const Figure& figure, const std::string& y_label,
                      const std::vector<BandCurve>& curves) {
    std::string data = "# epoch, mean, mean - std, mean + std; one block per curve\n";
    size_t epochs = 0;
    for (size_t i = 0; i < curves.size(); ++i) {
        data += fmt::format("{}# {}\n", i ? "\n\n" : "", curves[i].label);
        const BandCurve& curve = curves[i];
        for (size_t e = 0; e < curve.mean.size(); ++e) {
            // Without a standard deviation the band closes onto the mean.
            const double spread = std::isnan(curve.std[e]) ? 0.0 : curve.std[e];
            data += fmt::format("{} {} {} {}\n", e + 1, number(curve.mean[e]),
                                number(curve.mean[e] - spread), number(curve.mean[e] + spread));
        }
        epochs = std::max(epochs, curve.mean.size());
    }

    std::string script = preamble(figure, kWidth, kHeight) + title_line(figure);
    script += epoch_axis(epochs);
    script += fmt::format("set ylabel {}\nset grid\n{}{}", quoted(y_label), kKeyBelow, kPadY);
    script += "set style fill transparent solid 0.2 noborder\n";
    script += "plot \\\n";
    const std::string file = quoted(figure.name + ".dat");
    for (size_t i = 0; i < curves.size(); ++i) {
        const int type = static_cast<int>(i) % kColourCount + 1;
        script += fmt::format(
            "  {} index {} using 1:3:4 with filledcurves linetype {} notitle, \\\n"
            "  {} index {} using 1:2 with linespoints linetype {} title {}{}\n",
            file, i, type, file, i, type, quoted(curves[i].label),
            i + 1 < curves.size() ? ", \\" : "");
    }
    draw(figure, data, script);
}

}  // namespace sweep::report
