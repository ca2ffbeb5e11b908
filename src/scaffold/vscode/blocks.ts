// Building blocks for "Descent: Insert Building Block" and the contributed Python snippets
// (media/snippets/python.json holds the same code; test/unit/scaffold-blocks.test.ts keeps them in step).
// Each block is complete on its own (imports included) and lint-clean with Descent's linter.

export interface BuildingBlock {
  /** Stable id: the command argument and the snippet's name. */
  id: string;
  label: string;
  /** Snippet prefix (typed in the editor). */
  prefix: string;
  description: string;
  code: string;
}

const CNN = `import torch
from torch import nn


class ConvNet(nn.Module):
    """Two convolution blocks (convolution, batch norm, ReLU, max pooling), then a linear classifier."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: int = 32, dropout: float = 0.25) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, kernel_size=3, padding=1, bias=False),  # batch norm supplies the bias
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),  # any image size gives one value per channel
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Raw scores (logits): nn.CrossEntropyLoss applies the softmax itself.
        return self.head(self.features(x))
`;

const LSTM = `import torch
from torch import nn


class LSTMClassifier(nn.Module):
    """Reads a sequence of feature vectors (batch, steps, features) and classifies it from the last hidden state."""

    def __init__(self, input_size: int, num_classes: int, hidden_size: int = 128, num_layers: int = 1, dropout: float = 0.1) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(x)  # hidden: (num_layers, batch, hidden_size)
        return self.head(self.dropout(hidden[-1]))
`;

const ATTENTION = `import torch
from torch import nn


class SelfAttentionBlock(nn.Module):
    """A transformer encoder block: multi-head self-attention and a feed-forward layer, each with a residual connection."""

    def __init__(self, dim: int = 64, heads: int = 4, dropout: float = 0.1) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.feed_forward = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        # x: (batch, steps, dim); padding_mask: (batch, steps), True where a step is padding.
        h = self.norm1(x)
        attended, _ = self.attention(h, h, h, key_padding_mask=padding_mask, need_weights=False)
        x = x + attended
        return x + self.feed_forward(self.norm2(x))
`;

const VAE = `import torch
from torch import nn
from torch.nn import functional as F


class VAE(nn.Module):
    """A variational autoencoder for inputs scaled to [0, 1]: the encoder gives a mean and log-variance per latent."""

    def __init__(self, input_size: int, latent_size: int = 16, hidden_size: int = 256) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(input_size, hidden_size), nn.ReLU())
        self.mean = nn.Linear(hidden_size, latent_size)
        self.log_var = nn.Linear(hidden_size, latent_size)
        self.decoder = nn.Sequential(nn.Linear(latent_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, input_size))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.encoder(x.flatten(1))
        mean, log_var = self.mean(h), self.log_var(h)
        # Reparameterisation trick: sample as mean + std * noise so gradients reach the encoder.
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        return self.decoder(z), mean, log_var


def vae_loss(logits: torch.Tensor, x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """Negative ELBO per example: reconstruction error plus the KL divergence from the standard normal prior."""
    reconstruction = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="sum")
    kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp())
    return (reconstruction + kl) / x.shape[0]
`;

const TRAIN_LOOP = `import torch
from torch import nn
from torch.utils.data import DataLoader


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
) -> float:
    """One pass over the training data; returns the mean loss per example."""
    model.train()  # dropout and batch norm in training mode
    total, count = 0.0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(targets)
        count += len(targets)
    return total / max(count, 1)
`;

const EVAL_LOOP = `import torch
from torch import nn
from torch.utils.data import DataLoader


@torch.no_grad()  # no gradients needed: faster, and less memory
def evaluate(model: nn.Module, loader: DataLoader, loss_fn: nn.Module, device: torch.device) -> tuple[float, float]:
    """Mean loss and accuracy of a classifier over a validation or test loader."""
    model.eval()  # dropout off, batch norm uses its running statistics
    total, correct, count = 0.0, 0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        logits = model(inputs)
        total += loss_fn(logits, targets).item() * len(targets)
        correct += (logits.argmax(dim=1) == targets).sum().item()
        count += len(targets)
    return total / max(count, 1), correct / max(count, 1)
`;

const EARLY_STOPPING = `import copy

from torch import nn


class EarlyStopping:
    """Stops training when the validation loss has not improved for \`patience\` epochs, and keeps the best weights."""

    def __init__(self, patience: int = 5, min_delta: float = 0.0) -> None:
        self.patience = patience
        self.min_delta = min_delta
        self.best_loss = float("inf")
        self.best_state: dict | None = None
        self.bad_epochs = 0

    def step(self, val_loss: float, model: nn.Module) -> bool:
        """Call once per epoch; returns True when training should stop."""
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss = val_loss
            self.best_state = copy.deepcopy(model.state_dict())
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Loads the best weights seen back into the model."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
`;

export const BUILDING_BLOCKS: readonly BuildingBlock[] = [
  { id: 'cnn', label: 'CNN class', prefix: 'descent-cnn', description: 'Two convolution blocks and a linear classifier (nn.Module)', code: CNN },
  { id: 'lstm', label: 'LSTM classifier', prefix: 'descent-lstm', description: 'Classifies a sequence from the LSTM\'s last hidden state', code: LSTM },
  { id: 'self-attention', label: 'Self-attention block', prefix: 'descent-attention', description: 'Transformer encoder block: multi-head self-attention + feed-forward, residual', code: ATTENTION },
  { id: 'vae', label: 'Variational autoencoder', prefix: 'descent-vae', description: 'VAE with the reparameterisation trick and its ELBO loss', code: VAE },
  { id: 'training-loop', label: 'Training loop', prefix: 'descent-train-loop', description: 'One epoch: train mode, zero_grad, backward, step', code: TRAIN_LOOP },
  { id: 'evaluation-loop', label: 'Evaluation loop', prefix: 'descent-eval-loop', description: 'eval mode and no_grad: mean loss and accuracy', code: EVAL_LOOP },
  { id: 'early-stopping', label: 'Early stopping', prefix: 'descent-early-stopping', description: 'Stops when the validation loss stalls and keeps the best weights', code: EARLY_STOPPING },
];

export function findBlock(id: string): BuildingBlock | undefined {
  return BUILDING_BLOCKS.find((b) => b.id === id || b.prefix === id || b.label.toLowerCase() === id.toLowerCase());
}

/** The VS Code snippet body of a block: its lines, with the snippet syntax characters ($, }, \\) escaped. */
export function snippetBody(block: BuildingBlock): string[] {
  return block.code.replace(/\n$/, '').split('\n').map((line) => line.replace(/[\\$}]/g, (c) => `\\${c}`));
}

/** media/snippets/python.json's content. */
export function snippetsJson(): Record<string, { prefix: string; description: string; body: string[] }> {
  const out: Record<string, { prefix: string; description: string; body: string[] }> = {};
  for (const b of BUILDING_BLOCKS) out[`Descent: ${b.label}`] = { prefix: b.prefix, description: b.description, body: snippetBody(b) };
  return out;
}
