"""store: a result file reads in h5py as a user expects (units table by column name).

Usage: check_h5py.py SWEEP_BINARY MPIEXEC. Exits 77 (skipped) when h5py is not installed.
"""
import os
import subprocess
import sys
import tempfile

try:
    import h5py
except ImportError:
    print("h5py is not installed (Debian: python3-h5py); skipped")
    sys.exit(77)

STUDY = """study: h5py-check
grid:
  dataset: fashion-mnist
  optimizer: sgd
  lr: 0.05
  momentum: 0.9
  epochs: 2
  train_size: 640
  test_size: 200
  seed: [1, 2]
"""

def main():
    sweep, mpiexec = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as scratch:
        study = os.path.join(scratch, "study.yaml")
        result = os.path.join(scratch, "result.h5")
        with open(study, "w") as out:
            out.write(STUDY)
        command = [mpiexec, "-n", "2", "--oversubscribe"]
        if os.geteuid() == 0:
            command.append("--allow-run-as-root")
        subprocess.run(command + [sweep, "run", study, "-o", result], check=True)

        with h5py.File(result, "r") as f:
            units = f["units"][:]
            for column in ("index", "id", "dataset", "optimizer", "lr", "gamma", "momentum",
                           "epsilon", "epochs", "batch_size", "seed"):
                assert column in units.dtype.names, column
            assert list(units["seed"]) == [1, 2], units["seed"]
            assert units["dataset"][0].decode() == "fashion-mnist"
            assert list(f["status"][:]) == [1, 1]
            assert f.attrs["study"].decode() == "h5py-check"
            assert "grid:" in f.attrs["study_yaml"].decode()
            curves = f["unit/000001/curves"][:]
            assert list(curves["epoch"]) == [1, 2]
            assert abs(curves["lr"][1] - 0.05) < 1e-12
            assert f["unit/000000/scores"].shape == (200, 10)
            accuracy = f["outcomes"]["final_test_accuracy"]
            assert all(a > 0.3 for a in accuracy), accuracy
    print("h5py reads the units table, status, curves and scores")

main()
