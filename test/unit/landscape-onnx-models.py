"""For landscape-onnx.test.ts: one small classifier computed by the torch engine and exported to ONNX.

Writes into OUT: model.onnx (torch.onnx.export, dynamo=False), data.npz (x float32, y int64), setup.py (the
torch engine's --setup hook returning the same model and data), runs the torch engine on a 2D 5x5 grid
(python -m descent.landscape), and converts its directions.pt into directions.bin (Descent's format for the ONNX
engine: a JSON header line, then float32 little-endian values) under the ONNX initializer names.
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch
from torch import nn

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


torch.manual_seed(0)
x = torch.randn(240, 6)
y = (x @ torch.randn(6, 3)).argmax(dim=1)
net = Net()
opt = torch.optim.SGD(net.parameters(), lr=0.3)
for _ in range(60):  # a trained model: the landscape has a minimum near the origin
    opt.zero_grad()
    nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
net.eval()
torch.save({"model": net.state_dict()}, os.path.join(out, "model.pt"))
np.savez(os.path.join(out, "data.npz"), x=x.numpy().astype(np.float32), y=y.numpy().astype(np.int64))
torch.onnx.export(net, (x[:2],), os.path.join(out, "model.onnx"), input_names=["x"], output_names=["logits"],
                  dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
with open(os.path.join(out, "setup.py"), "w") as f:
    f.write(f'''
import numpy as np
import torch
from torch import nn

{open(__file__).read().split("class Net")[1].split("torch.manual_seed")[0].join(["class Net", ""])}

def landscape_setup():
    net = Net()
    net.load_state_dict(torch.load({os.path.join(out, "model.pt")!r}, weights_only=True)["model"])
    d = np.load({os.path.join(out, "data.npz")!r})
    data = torch.utils.data.TensorDataset(torch.from_numpy(d["x"]), torch.from_numpy(d["y"]))
    return net, data, nn.CrossEntropyLoss()
''')
run = os.path.join(out, "run")
os.makedirs(run, exist_ok=True)
done = subprocess.run([sys.executable, "-m", "descent.landscape", "--run", run, "--setup", os.path.join(out, "setup.py"),
                       "--dims", "2", "--x", "-1:1:5", "--y", "-1:1:5", "--samples", "240", "--batch-size", "100",
                       "--device", "cpu", "--seed", "3", "--name", "torch"], capture_output=True, text=True)
if done.returncode != 0:
    sys.exit(f"torch engine failed: {done.stderr[-3000:]}")
stored = torch.load(os.path.join(run, "landscapes", "torch", "directions.pt"), weights_only=True)
tensors, chunks, offset = [], [], 0
for k, key in enumerate(["x", "y"]):
    for name, t in stored[key].items():
        a = t.detach().cpu().numpy().astype("<f4").ravel()
        tensors.append({"name": name, "dims": list(t.shape), "direction": k, "offset": offset, "length": int(a.size)})
        chunks.append(a.tobytes())
        offset += a.size * 4
with open(os.path.join(out, "directions.bin"), "wb") as f:
    f.write((json.dumps({"format": "descent-directions", "version": 1, "tensors": tensors}) + "\n").encode())
    for c in chunks:
        f.write(c)
print(os.path.join(run, "landscapes", "torch"))
