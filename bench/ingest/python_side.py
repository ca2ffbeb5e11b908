"""Python half of bench/ingest (run by run.ts with the test venv's interpreter; prints one JSON document).

1. Writes a TensorBoard event file with torch's SummaryWriter (TAGS tags x STEPS steps) and times tensorboard's own
   readers on it: EventAccumulator (all scalars kept: size_guidance scalars=0) and event_file_loader.
2. Times one call of descent.log.metrics against one SummaryWriter.add_scalar per metric.
3. Times small real training steps (an MNIST-sized MLP and LeNet-5, batch 64, one CPU thread) with no logging, with
   only loss.item() (what any logger must do to read the value), with descent.log every step and with SummaryWriter
   every step, beside the floor of any line-buffered logger (one line formatted inline and one os.write); every step
   is timed and the mode is drawn per step, so machine noise hits all modes alike.
"""

import json
import os
import random
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import torch  # noqa: E402
from torch.utils.tensorboard import SummaryWriter  # noqa: E402

from descent import log  # noqa: E402

TAGS = ["loss/train", "acc/train", "loss/val", "lr"]


def write_tb(directory, steps):
    w = SummaryWriter(log_dir=directory, max_queue=1000, flush_secs=3600)
    for step in range(steps):
        for i, tag in enumerate(TAGS):
            w.add_scalar(tag, 1.0 / (step + 1 + i), step)
    w.close()
    return [os.path.join(directory, f) for f in os.listdir(directory) if f.startswith("events.out")][0]


def read_accumulator(directory):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(directory, size_guidance={"scalars": 0})
    acc.Reload()
    return sum(len(acc.Scalars(tag)) for tag in acc.Tags()["scalars"])


def read_loader(path):
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    n = 0
    for event in EventFileLoader(path).Load():
        # The loader migrates simple_value to tensor-style values (data_compat); count either.
        n += len(event.summary.value)
    return n


def timed(fn, *args, repeat=3):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def per_call(tmp):
    n = 20000
    logger = log.Logger(os.path.join(tmp, "percall"))
    loss, acc = 0.5, 0.25
    start = time.perf_counter()
    for i in range(n):
        logger.metrics(step=i, split="train", loss=loss, acc=acc)
    descent = (time.perf_counter() - start) / n
    logger.close()
    w = SummaryWriter(log_dir=os.path.join(tmp, "percall-tb"), max_queue=1000, flush_secs=3600)
    start = time.perf_counter()
    for i in range(n):
        w.add_scalar("loss/train", loss, i)
        w.add_scalar("acc/train", acc, i)
    tb = (time.perf_counter() - start) / n
    w.close()
    return descent, tb


def _models():
    """The two loops timed: the smallest model anyone trains for real, and the CNN of an intro course's MNIST lab."""
    mlp = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    lenet = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, 10),
    )
    return [
        ("MLP 784-256-10, batch 64", mlp, torch.randn(64, 784)),
        ("LeNet-5 on 1x28x28, batch 64", lenet, torch.randn(64, 1, 28, 28)),
    ]


def training(tmp, steps):
    """Per-step times of one training loop, the logging mode drawn per step in shuffled cycles of the four modes.

    Timing each step and shuffling the modes spreads the machine's drift and the cache state left by the previous
    step over every mode alike (blocks of steps per mode gave overheads that flipped sign from run to run).
    """
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = random.Random(0)
    results = []
    for index, (name, model, x) in enumerate(_models()):
        y = torch.randint(0, 10, (x.shape[0],))
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        logger = log.Logger(os.path.join(tmp, "train-descent-%d" % index))
        writer = SummaryWriter(log_dir=os.path.join(tmp, "train-tb-%d" % index))
        raw = os.open(os.path.join(tmp, "raw-%d.jsonl" % index), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

        def step(i, mode):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if mode == "item":
                loss.item()
            elif mode == "write":
                # The floor of any line-buffered, crash-safe logger: one line formatted inline, one os.write.
                os.write(raw, b'{"step":%d,"t":%r,"split":"train","loss":%r}\n' % (i, time.time(), loss.item()))
            elif mode == "descent":
                logger.metrics(step=i, split="train", loss=loss)
            elif mode == "tensorboard":
                writer.add_scalar("loss/train", loss, i)

        for i in range(100):
            step(i, "none")
        modes = ["none", "item", "write", "descent", "tensorboard"]
        times = {mode: [] for mode in modes}
        order = []
        clock = time.perf_counter
        for i in range(steps):
            if not order:
                order = list(modes)
                rng.shuffle(order)
            mode = order.pop()
            start = clock()
            step(i, mode)
            times[mode].append(clock() - start)
        writer.close()
        logger.close()
        os.close(raw)
        results.append({"model": name, "steps": steps, **{mode: statistics.median(v) for mode, v in times.items()}})
        steps = max(500, steps // 4)  # the CNN's step is about 8x longer
    return results


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
    out_dir = sys.argv[2]
    tb_dir = os.path.join(out_dir, "tb")
    os.makedirs(tb_dir, exist_ok=True)
    path = write_tb(tb_dir, steps)
    acc_s, acc_n = timed(read_accumulator, tb_dir, repeat=1)
    loader_s, loader_n = timed(read_loader, path, repeat=1)
    with tempfile.TemporaryDirectory() as tmp:
        descent_call, tb_call = per_call(tmp)
        train = training(tmp, steps=int(os.environ.get("BENCH_TRAIN_STEPS", "16000")))
    import tensorboard

    print(json.dumps({
        "tensorboardVersion": tensorboard.__version__,
        "torchVersion": torch.__version__,
        "tbFile": path,
        "tbBytes": os.path.getsize(path),
        "accumulator": {"seconds": acc_s, "scalars": acc_n},
        "loader": {"seconds": loader_s, "scalars": loader_n},
        "perCall": {"descent": descent_call, "tensorboard": tb_call},
        "trainStep": train,
    }))


if __name__ == "__main__":
    main()
