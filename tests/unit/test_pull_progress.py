"""Pull/build progress lines from engine events: counted right, and throttled."""

from __future__ import annotations

from provisioner.core.pull_progress import BuildProgress, PullProgress, human_bytes


def test_pull_counts_layers_and_bytes():
    progress = PullProgress(interval=2.0)
    assert progress.update({"status": "Pulling from x/y", "id": "7-alpine"}, 0.0) is None
    progress.update({"status": "Already exists", "id": "a"}, 0.1)
    progress.update({"status": "Pulling fs layer", "id": "b"}, 0.2)
    progress.update({"status": "Pulling fs layer", "id": "c"}, 0.3)
    line = progress.update(
        {"status": "Downloading", "id": "b", "progressDetail": {"current": 500, "total": 2000}},
        5.0,
    )
    assert line == "1/3 layers, 500 B/2.0 kB"
    progress.update({"status": "Download complete", "id": "b"}, 5.1)
    progress.update({"status": "Pull complete", "id": "b"}, 5.2)
    assert progress.summary() == "2/3 layers, 2.0 kB/2.0 kB"


def test_pull_lines_are_throttled():
    progress = PullProgress(interval=2.0)
    shown = []
    for step in range(1000):  # 1000 events in 10 s: at most one line per 2 s
        event = {
            "status": "Downloading",
            "id": "l",
            "progressDetail": {"current": step * 1000, "total": 10**6},
        }
        line = progress.update(event, step / 100)
        if line:
            shown.append(line)
    assert 3 <= len(shown) <= 6


def test_pull_repeats_no_identical_line():
    progress = PullProgress(interval=0.0)
    assert progress.update({"status": "Pulling fs layer", "id": "a"}, 0.0) == "0/1 layers"
    assert progress.update({"status": "Waiting", "id": "a"}, 10.0) is None


def test_build_reports_steps_throttled():
    progress = BuildProgress(interval=2.0)
    assert progress.update({"stream": " ---> abc\n"}, 0.0) is None
    assert progress.update({"stream": "Step 1/5 : FROM python\n"}, 0.1) == "step 1/5: FROM python"
    assert progress.update({"stream": "Step 2/5 : COPY . /app\n"}, 0.5) is None  # throttled
    line = progress.update({"stream": "Step 3/5 : RUN pip install -r requirements.txt\n"}, 3.0)
    assert line == "step 3/5: RUN pip install -r requirements.txt"
    assert progress.update({"stream": "still step 3 output\n"}, 9.0) is None


def test_human_bytes():
    assert human_bytes(999) == "999 B"
    assert human_bytes(1_500_000) == "1.5 MB"
    assert human_bytes(2_500_000_000) == "2.5 GB"
