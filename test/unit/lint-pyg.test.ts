// PyTorch Geometric: conv layers produce raw scores (LS003 & co.), PyG loaders are DataLoaders (DT001), and a PyG
// batch's `.to()` moves in place (DV007). Each positive has a look-alike that must stay clean.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ids, useParser } from './lint/helpers';

useParser();

const GNN = (imports: string, last: string, loss: string) => `import torch
import torch.nn as nn
import torch.nn.functional as F
${imports}

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = GATConv(16, 32)
        self.l2 = ${last}

    def forward(self, x, edge_index):
        x = F.elu(self.l1(x, edge_index))
        return self.l2(x, edge_index)

torch.manual_seed(0)
model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
for epoch in range(100):
    optimizer.zero_grad()
    out = model(data.x, data.edge_index)
    loss = ${loss}
    loss.backward()
    optimizer.step()
`;

test('LS003: NLLLoss on a GNN ending in a PyG conv (GATConv, GCNConv, SAGEConv through torch_geometric.nn / .nn.conv)', () => {
  assert.deepEqual(ids(GNN('from torch_geometric.nn import GATConv', 'GATConv(32, 7)', 'F.nll_loss(out, data.y)'), 'LS003'), ['LS003']);
  assert.deepEqual(ids(GNN('from torch_geometric.nn import GATConv, GCNConv', 'GCNConv(32, 7)', 'F.nll_loss(out, data.y)'), 'LS003'), ['LS003']);
  assert.deepEqual(ids(GNN('from torch_geometric.nn import GATConv\nfrom torch_geometric.nn.conv import SAGEConv', 'SAGEConv(32, 7)', 'F.nll_loss(out, data.y)'), 'LS003'), ['LS003']);
  assert.deepEqual(ids(GNN('import torch_geometric.nn as pyg\nfrom torch_geometric.nn import GATConv', 'pyg.Linear(32, 7)', 'F.nll_loss(out, data.y)'), 'LS003'), ['LS003']);
});

test('LS003: GINConv takes the kind of the module it wraps', () => {
  const imp = 'from torch_geometric.nn import GATConv, GINConv';
  assert.deepEqual(ids(GNN(imp, 'GINConv(nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 7)))', 'F.nll_loss(out, data.y)'), 'LS003'), ['LS003']);
  assert.deepEqual(ids(GNN(imp, 'GINConv(nn.Sequential(nn.Linear(32, 7), nn.LogSoftmax(dim=1)))', 'F.nll_loss(out, data.y)'), 'LS003'), []);
});

test('PyG conv outputs: the tutorial (raw scores into cross_entropy, log_softmax before nll_loss) stays clean', () => {
  const imp = 'from torch_geometric.nn import GATConv, GCNConv';
  assert.deepEqual(ids(GNN(imp, 'GCNConv(32, 7)', 'F.cross_entropy(out[data.train_mask], data.y[data.train_mask])')), []);
  assert.deepEqual(ids(GNN(imp, 'GCNConv(32, 7)', 'F.nll_loss(F.log_softmax(out, dim=1), data.y)')), []);
  // A layer of another library with the same name is not PyG's.
  assert.deepEqual(ids(GNN('from dgl.nn import GATConv, GraphConv', 'GraphConv(32, 7)', 'F.nll_loss(out, data.y)'), 'LS003'), []);
});

const PYG_LOADER = (loader: string) => `import torch
from torch_geometric.loader import DataLoader, NeighborLoader
from torch_geometric.datasets import TUDataset

dataset = TUDataset(root='data', name='MUTAG')
${loader}
model = torch.nn.Linear(7, 2)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
for epoch in range(10):
    for data in train_loader:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(data.x), data.y)
        loss.backward()
        optimizer.step()
`;

test('DT001: torch_geometric.loader.DataLoader and NeighborLoader for training without shuffle', () => {
  assert.deepEqual(ids(PYG_LOADER('train_loader = DataLoader(dataset[:150], batch_size=64)'), 'DT001'), ['DT001']);
  assert.deepEqual(ids(PYG_LOADER('train_loader = NeighborLoader(data, num_neighbors=[10, 10], batch_size=128, input_nodes=data.train_mask)'), 'DT001'), ['DT001']);
  assert.deepEqual(ids(PYG_LOADER('train_loader = DataLoader(dataset[:150], batch_size=64, shuffle=True)'), 'DT001'), []);
  assert.deepEqual(ids(PYG_LOADER('train_loader = NeighborLoader(data, [10, 10], data.train_mask, batch_size=128, shuffle=True)'), 'DT001'), []);
  // A held-out NeighborLoader (inference over all nodes) is not a training loader.
  assert.deepEqual(ids(PYG_LOADER('train_loader = DataLoader(dataset[:150], batch_size=64, shuffle=True)\nsubgraph_loader = NeighborLoader(data, [-1], batch_size=1024, input_nodes=None)'), 'DT001'), []);
});

const PYG_TO = (loop: string) => `import torch
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GCNConv

device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
loader = DataLoader(dataset, batch_size=32)
conv = GCNConv(7, 2).to(device)
with torch.no_grad():
${loop}
`;

test('DV007: a PyG batch moves in place (data.to(device)); a tensor taken from it does not', () => {
  assert.deepEqual(ids(PYG_TO('    for data in loader:\n        data.to(device)\n        out = conv(data.x, data.edge_index)'), 'DV007'), []);
  assert.deepEqual(ids(PYG_TO('    for i, batch in enumerate(loader):\n        batch.to(device)\n        out = conv(batch.x, batch.edge_index)'), 'DV007'), []);
  // Without PyG, `for x in loader: x.to(device)` is a tensor batch.
  const plain = `import torch\nfrom torch.utils.data import DataLoader\ndevice = 'cuda'\nloader = DataLoader(ds, batch_size=32)\nfor x in loader:\n    x.to(device)\n    out = model(x)\n`;
  assert.deepEqual(ids(plain, 'DV007'), ['DV007']);
  // In a PyG file, an unpacked tensor batch is still a tensor.
  assert.deepEqual(ids(PYG_TO('    for x, y in tensor_loader:\n        x.to(device)\n        out = conv(x, y)'), 'DV007'), ['DV007']);
});
