"""Descent demo: a small MLP learns three Gaussian blobs (synthetic data, CPU or GPU, a few seconds).

    .venv/bin/python train.py --epochs 20
"""
import argparse
import time

import torch
from torch import nn


def make_blobs(n_per_class: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    centers = torch.tensor([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])
    xs, ys = [], []
    for label, center in enumerate(centers):
        xs.append(center + 0.9 * torch.randn(n_per_class, 2, generator=generator))
        ys.append(torch.full((n_per_class,), label, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    g = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    x_train, y_train = make_blobs(1000, g)
    x_val, y_val = make_blobs(200, g)
    x_val, y_val = x_val.to(device), y_val.to(device)

    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    print(f"training on {device} with torch {torch.__version__}")

    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train), generator=g)
        total = 0.0
        for i in range(0, len(order), args.batch_size):
            idx = order[i : i + args.batch_size]
            xb, yb = x_train[idx].to(device), y_train[idx].to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = loss_fn(logits, y_val).item()
            val_acc = (logits.argmax(dim=1) == y_val).float().mean().item()
        ms = (time.perf_counter() - started) * 1000
        print(f"epoch {epoch:3d}  train_loss {total / len(order):.4f}  val_loss {val_loss:.4f}  val_acc {val_acc:.3f}  ({ms:.0f} ms)")


if __name__ == "__main__":
    main()
