// model.py of a generated project: the chosen architecture only, and build_model(config, info).
import { usesBatchNorm, usesDropout } from '../config';
import type { ScaffoldOptions } from '../options';
import { lines } from '../python';

function mlpOrLinear(o: ScaffoldOptions): string {
  const bn = usesBatchNorm(o);
  const dropout = usesDropout(o);
  const outputs = o.task === 'regression' ? 'one predicted value' : 'one score (logit) per class';
  if (o.architecture === 'logistic') {
    const name = o.task === 'regression' ? 'LinearRegression' : 'LogisticRegression';
    return lines(
      `class ${name}(nn.Module):`,
      `    """One linear layer: flattened input -> ${outputs}.`,
      '',
      o.task === 'regression'
        ? '    Trained with a regression loss this is linear regression, the baseline a deeper model has to beat.'
        : '    Trained with cross-entropy this is (multinomial) logistic regression; the softmax is inside the loss.',
      '    """',
      '',
      '    def __init__(self, input_shape: tuple, num_outputs: int):',
      '        super().__init__()',
      '        self.flatten = nn.Flatten()',
      '        self.linear = nn.Linear(math.prod(input_shape), num_outputs)',
      '',
      '    def forward(self, x: torch.Tensor) -> torch.Tensor:',
      '        return self.linear(self.flatten(x))',
      '',
      '',
      'def build_model(config: dict, info: dict) -> nn.Module:',
      `    return ${name}(info["input_shape"], info["num_outputs"])`,
    );
  }
  const hidden = (inName: string) =>
    lines(
      `            nn.Linear(${inName}, hidden_size${bn ? ', bias=False' : ''}),${bn ? '  # no bias: BatchNorm adds its own shift' : ''}`,
      bn && '            nn.BatchNorm1d(hidden_size),',
      '            nn.ReLU(),',
      dropout && '            nn.Dropout(dropout),',
    );
  return lines(
    'class MLP(nn.Module):',
    `    """A multilayer perceptron: flattened input -> two hidden layers with ReLU -> ${outputs}."""`,
    '',
    `    def __init__(self, input_shape: tuple, num_outputs: int, hidden_size: int${dropout ? ', dropout: float' : ''}):`,
    '        super().__init__()',
    '        self.layers = nn.Sequential(',
    '            nn.Flatten(),',
    hidden('math.prod(input_shape)'),
    hidden('hidden_size'),
    `            nn.Linear(hidden_size, num_outputs),${o.task === 'regression' ? '' : '  # raw scores: CrossEntropyLoss applies the softmax'}`,
    '        )',
    '',
    '    def forward(self, x: torch.Tensor) -> torch.Tensor:',
    '        return self.layers(x)',
    '',
    '',
    'def build_model(config: dict, info: dict) -> nn.Module:',
    `    return MLP(info["input_shape"], info["num_outputs"], config["hidden_size"]${dropout ? ', config["dropout"]' : ''})`,
  );
}

function cnn(o: ScaffoldOptions): string {
  const bn = usesBatchNorm(o);
  const dropout = usesDropout(o);
  return lines(
    `def conv_block(in_channels: int, out_channels: int${dropout ? ', dropout: float' : ''}) -> nn.Sequential:`,
    `    """3x3 convolution${bn ? ', batch norm' : ''}, ReLU, then 2x2 max pooling that halves the height and width."""`,
    '    return nn.Sequential(',
    `        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1${bn ? ', bias=False' : ''}),`,
    bn && '        nn.BatchNorm2d(out_channels),',
    '        nn.ReLU(),',
    '        nn.MaxPool2d(2),',
    dropout && '        nn.Dropout(dropout),',
    '    )',
    '',
    '',
    'class CNN(nn.Module):',
    '    """Two convolution blocks learn local patterns (edges, strokes, textures); a linear layer classifies them."""',
    '',
    `    def __init__(self, input_shape: tuple, num_classes: int${dropout ? ', dropout: float' : ''}):`,
    '        super().__init__()',
    '        channels, height, width = input_shape',
    '        self.features = nn.Sequential(',
    `            conv_block(channels, 32${dropout ? ', dropout' : ''}),`,
    `            conv_block(32, 64${dropout ? ', dropout' : ''}),`,
    '        )',
    '        # Each block halves the height and width.',
    '        self.classifier = nn.Sequential(',
    '            nn.Flatten(),',
    '            nn.Linear(64 * (height // 4) * (width // 4), num_classes),  # raw scores (logits)',
    '        )',
    '',
    '    def forward(self, x: torch.Tensor) -> torch.Tensor:',
    '        return self.classifier(self.features(x))',
    '',
    '',
    'def build_model(config: dict, info: dict) -> nn.Module:',
    `    return CNN(info["input_shape"], info["num_outputs"]${dropout ? ', config["dropout"]' : ''})`,
  );
}

function resnet(o: ScaffoldOptions): string {
  const bn = usesBatchNorm(o);
  const dropout = usesDropout(o);
  const norm = (channels: string, attr: string) => (bn ? `        self.${attr} = nn.BatchNorm2d(${channels})` : false);
  const biasArg = bn ? ', bias=False' : '';
  return lines(
    'class ResidualBlock(nn.Module):',
    '    """Two 3x3 convolutions whose result is added to the block\'s input: the skip connection.',
    '',
    '    The addition gives gradients a direct path back to earlier layers, so deep stacks of blocks still train.',
    '    """',
    '',
    '    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):',
    '        super().__init__()',
    `        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1${biasArg})`,
    norm('out_channels', 'bn1'),
    `        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1${biasArg})`,
    norm('out_channels', 'bn2'),
    '        self.shortcut = nn.Identity()',
    '        if stride != 1 or in_channels != out_channels:',
    '            # A 1x1 convolution reshapes the input so that it can be added to the output.',
    bn
      ? '            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(out_channels))'
      : '            self.shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride)',
    '',
    '    def forward(self, x: torch.Tensor) -> torch.Tensor:',
    bn ? '        out = torch.relu(self.bn1(self.conv1(x)))' : '        out = torch.relu(self.conv1(x))',
    bn ? '        out = self.bn2(self.conv2(out))' : '        out = self.conv2(out)',
    '        return torch.relu(out + self.shortcut(x))',
    '',
    '',
    'class ResNet(nn.Module):',
    '    """A small ResNet: a stem convolution, three residual blocks (the last two halve the resolution), average pooling."""',
    '',
    `    def __init__(self, input_shape: tuple, num_classes: int${dropout ? ', dropout: float' : ''}):`,
    '        super().__init__()',
    '        channels = input_shape[0]',
    '        self.stem = nn.Sequential(',
    `            nn.Conv2d(channels, 32, kernel_size=3, padding=1${biasArg}),`,
    bn && '            nn.BatchNorm2d(32),',
    '            nn.ReLU(),',
    '        )',
    '        self.blocks = nn.Sequential(',
    '            ResidualBlock(32, 32),',
    '            ResidualBlock(32, 64, stride=2),',
    '            ResidualBlock(64, 128, stride=2),',
    '        )',
    '        self.head = nn.Sequential(',
    '            nn.AdaptiveAvgPool2d(1),  # one average per channel, whatever the image size',
    '            nn.Flatten(),',
    dropout && '            nn.Dropout(dropout),',
    '            nn.Linear(128, num_classes),  # raw scores (logits)',
    '        )',
    '',
    '    def forward(self, x: torch.Tensor) -> torch.Tensor:',
    '        return self.head(self.blocks(self.stem(x)))',
    '',
    '',
    'def build_model(config: dict, info: dict) -> nn.Module:',
    `    return ResNet(info["input_shape"], info["num_outputs"]${dropout ? ', config["dropout"]' : ''})`,
  );
}

function recurrent(o: ScaffoldOptions): string {
  const dropout = usesDropout(o);
  const layer = { rnn: 'nn.RNN', lstm: 'nn.LSTM', gru: 'nn.GRU' }[o.architecture as 'rnn' | 'lstm' | 'gru'];
  const what = {
    rnn: 'A plain RNN updates its hidden state from the previous state and the current step',
    lstm: 'An LSTM keeps a memory cell that input, forget and output gates write, erase and read',
    gru: 'A GRU mixes its previous state with a candidate through update and reset gates',
  }[o.architecture as 'rnn' | 'lstm' | 'gru'];
  return lines(
    'class SequenceClassifier(nn.Module):',
    `    """Reads a sequence of shape (batch, steps, features) step by step and classifies its last hidden state.`,
    '',
    `    ${what}.`,
    '    """',
    '',
    `    def __init__(self, input_shape: tuple, num_classes: int, hidden_size: int${dropout ? ', dropout: float' : ''}):`,
    '        super().__init__()',
    '        steps, features = input_shape',
    `        self.rnn = ${layer}(features, hidden_size, batch_first=True)`,
    dropout && '        self.dropout = nn.Dropout(dropout)',
    '        self.head = nn.Linear(hidden_size, num_classes)',
    '',
    '    def forward(self, x: torch.Tensor) -> torch.Tensor:',
    '        outputs, _ = self.rnn(x)  # one hidden state per step',
    '        last = outputs[:, -1]  # the state after the whole sequence has been read',
    dropout ? '        return self.head(self.dropout(last))  # raw scores (logits)' : '        return self.head(last)  # raw scores (logits)',
    '',
    '',
    'def build_model(config: dict, info: dict) -> nn.Module:',
    `    return SequenceClassifier(info["input_shape"], info["num_outputs"], config["hidden_size"]${dropout ? ', config["dropout"]' : ''})`,
  );
}

function transformer(o: ScaffoldOptions): string {
  const dropout = usesDropout(o);
  return lines(
    'class TransformerClassifier(nn.Module):',
    '    """A transformer encoder over a sequence of shape (batch, steps, features).',
    '',
    '    Each step is embedded, a learned position embedding is added (attention alone ignores order), and every step',
    '    attends to every other step (self-attention). The average over steps is classified.',
    '    """',
    '',
    `    def __init__(self, input_shape: tuple, num_classes: int, model_size: int${dropout ? ', dropout: float' : ''}, num_heads: int = 4, num_layers: int = 2):`,
    '        super().__init__()',
    '        steps, features = input_shape',
    '        self.embed = nn.Linear(features, model_size)',
    '        self.position = nn.Parameter(0.02 * torch.randn(1, steps, model_size))',
    '        layer = nn.TransformerEncoderLayer(',
    `            model_size, num_heads, dim_feedforward=2 * model_size, dropout=${dropout ? 'dropout' : '0.0'}, batch_first=True`,
    '        )',
    '        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)',
    '        self.head = nn.Linear(model_size, num_classes)',
    '',
    '    def forward(self, x: torch.Tensor) -> torch.Tensor:',
    '        h = self.encoder(self.embed(x) + self.position)',
    '        return self.head(h.mean(dim=1))  # raw scores (logits)',
    '',
    '',
    'def build_model(config: dict, info: dict) -> nn.Module:',
    `    return TransformerClassifier(info["input_shape"], info["num_outputs"], config["hidden_size"]${dropout ? ', config["dropout"]' : ''})`,
  );
}

function autoencoder(o: ScaffoldOptions): string {
  const out = o.loss === 'bce-with-logits' ? 'logits (the loss applies the sigmoid)' : 'values';
  return lines(
    'class Autoencoder(nn.Module):',
    '    """Encoder: input -> a small code; decoder: code -> the input again. The code must keep what matters."""',
    '',
    '    def __init__(self, input_shape: tuple, hidden_size: int, latent_size: int):',
    '        super().__init__()',
    '        self.input_shape = tuple(input_shape)',
    '        size = math.prod(input_shape)',
    '        self.encoder = nn.Sequential(',
    '            nn.Flatten(),',
    '            nn.Linear(size, hidden_size),',
    '            nn.ReLU(),',
    '            nn.Linear(hidden_size, latent_size),',
    '            nn.Tanh(),  # the code: latent_size numbers between -1 and 1',
    '        )',
    '        self.decoder = nn.Sequential(',
    '            nn.Linear(latent_size, hidden_size),',
    '            nn.ReLU(),',
    '            nn.Linear(hidden_size, size),',
    '        )',
    '',
    '    def forward(self, x: torch.Tensor) -> torch.Tensor:',
    '        code = self.encoder(x)',
    `        return self.decoder(code).view(-1, *self.input_shape)  # reconstructed ${out}`,
    '',
    '',
    'def build_model(config: dict, info: dict) -> nn.Module:',
    '    return Autoencoder(info["input_shape"], config["hidden_size"], config["latent_size"])',
  );
}

function vae(): string {
  return lines(
    'class VAE(nn.Module):',
    '    """A variational autoencoder: each input is encoded as a Gaussian (mean, log-variance) over codes.',
    '',
    '    Training decodes a sample from that Gaussian; afterwards, decoding random codes drawn from a standard',
    '    Gaussian generates new examples (see generate()).',
    '    """',
    '',
    '    def __init__(self, input_shape: tuple, hidden_size: int, latent_size: int):',
    '        super().__init__()',
    '        self.input_shape = tuple(input_shape)',
    '        self.latent_size = latent_size',
    '        size = math.prod(input_shape)',
    '        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(size, hidden_size), nn.ReLU())',
    '        self.to_mean = nn.Linear(hidden_size, latent_size)',
    '        self.to_log_var = nn.Linear(hidden_size, latent_size)',
    '        self.decoder = nn.Sequential(',
    '            nn.Linear(latent_size, hidden_size),',
    '            nn.ReLU(),',
    '            nn.Linear(hidden_size, size),',
    '        )',
    '',
    '    def forward(self, x: torch.Tensor) -> tuple:',
    '        h = self.encoder(x)',
    '        mean, log_var = self.to_mean(h), self.to_log_var(h)',
    '        # The reparameterisation trick: a sample written as mean + std * noise lets gradients reach mean and log_var.',
    '        code = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)',
    '        logits = self.decoder(code).view(-1, *self.input_shape)',
    '        return logits, mean, log_var',
    '',
    '    def generate(self, count: int) -> torch.Tensor:',
    '        """New examples, in [0, 1], decoded from random codes."""',
    '        device = self.to_mean.weight.device',
    '        code = torch.randn(count, self.latent_size, device=device)',
    '        return torch.sigmoid(self.decoder(code)).view(-1, *self.input_shape)',
    '',
    '',
    'def build_model(config: dict, info: dict) -> nn.Module:',
    '    return VAE(info["input_shape"], config["hidden_size"], config["latent_size"])',
  );
}

function transfer(): string {
  return lines(
    'class TransferResNet(nn.Module):',
    '    """A torchvision ResNet-18 whose final layer is replaced by a new one for our classes.',
    '',
    '    With pretrained weights the network already knows edges, textures and shapes from ImageNet, so a little data',
    '    goes a long way. Freezing the backbone trains only the new layer; unfreezing it fine-tunes every layer.',
    '    """',
    '',
    '    def __init__(self, num_classes: int, pretrained: bool, freeze_backbone: bool):',
    '        super().__init__()',
    '        weights = ResNet18_Weights.DEFAULT if pretrained else None  # DEFAULT downloads the weights once',
    '        self.backbone = resnet18(weights=weights)',
    '        if freeze_backbone:',
    '            for parameter in self.backbone.parameters():',
    '                parameter.requires_grad = False',
    '        # The new head is created after freezing, so it is the part that trains.',
    '        self.backbone.fc = nn.Linear(self.backbone.fc.in_features, num_classes)',
    '',
    '    def forward(self, x: torch.Tensor) -> torch.Tensor:',
    '        if x.shape[1] == 1:',
    '            x = x.expand(-1, 3, -1, -1)  # grey images: the same channel three times, as ResNet expects RGB',
    '        return self.backbone(x)  # raw scores (logits)',
    '',
    '',
    'def build_model(config: dict, info: dict) -> nn.Module:',
    '    return TransferResNet(info["num_outputs"], config["pretrained"], config["freeze_backbone"])',
  );
}

export function renderModel(o: ScaffoldOptions): string {
  const usesMath = ['logistic', 'mlp', 'autoencoder', 'vae'].includes(o.architecture);
  const header = lines(
    `"""The model of ${o.name}. build_model(config, info) is what train.py calls; info describes the data (see data.py)."""`,
    '',
    usesMath && 'import math',
    usesMath && '',
    'import torch',
    'import torch.nn as nn',
    o.architecture === 'transfer' && 'from torchvision.models import ResNet18_Weights, resnet18',
  );
  let body: string;
  switch (o.architecture) {
    case 'logistic':
    case 'mlp':
      body = mlpOrLinear(o);
      break;
    case 'cnn':
      body = cnn(o);
      break;
    case 'resnet':
      body = resnet(o);
      break;
    case 'rnn':
    case 'lstm':
    case 'gru':
      body = recurrent(o);
      break;
    case 'transformer':
      body = transformer(o);
      break;
    case 'autoencoder':
      body = autoencoder(o);
      break;
    case 'vae':
      body = vae();
      break;
    case 'transfer':
      body = transfer();
      break;
  }
  return `${header}\n\n\n${body}\n`;
}
