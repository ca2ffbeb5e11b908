// data.py of a generated project: only the chosen source, with load_data(config) -> (train, val, test, info).
import { usesAugmentation } from '../config';
import type { ScaffoldOptions, SklearnDataset, TorchvisionDataset } from '../options';
import { lines, type Line } from '../python';

const LOAD_DATA_DOC = [
  '    """Training, validation and test datasets (test is None without test data), and info for the model.',
  '',
  '    Each dataset yields (input, target) pairs. info holds input_shape (one example, without the batch dimension),',
  '    num_outputs (what the model\'s last layer produces) and, for classification, class_names.',
  '    """',
];

const SPLIT = lines(
  'def split_indices(count: int, val_fraction: float, seed: int) -> tuple:',
  '    """A seeded random order of the examples, cut into training and validation indices."""',
  '    order = np.random.default_rng(seed).permutation(count)',
  '    val_count = max(1, int(count * val_fraction))',
  '    return order[val_count:], order[:val_count]',
);

const ENCODE_LABELS = lines(
  'def encode_labels(labels: np.ndarray, classes: list) -> np.ndarray:',
  '    """Class indices of test labels, in the order of the training classes."""',
  '    index = {label: i for i, label in enumerate(classes)}',
  '    unknown = sorted({label for label in labels.tolist() if label not in index})',
  '    if unknown:',
  '        raise SystemExit(f"The test data has labels that training never saw: {unknown}")',
  '    return np.array([index[label] for label in labels.tolist()], dtype=np.int64)',
);

function sklearnLoader(name: SklearnDataset): string {
  return {
    digits: 'load_digits',
    iris: 'load_iris',
    wine: 'load_wine',
    breast_cancer: 'load_breast_cancer',
    diabetes: 'load_diabetes',
  }[name];
}

/** Sources held in memory as arrays: scikit-learn, CSV, NPZ/NPY. */
function arrayData(o: ScaffoldOptions): string {
  const d = o.data;
  const task = o.task;
  const classify = task === 'image-classification' || task === 'tabular-classification' || task === 'sequence-classification';
  const hasTest = (d.kind === 'csv' || d.kind === 'npz') && d.testPath !== undefined;
  const ae = task === 'autoencoding';
  const imports: Line[] = [];
  const readers: string[] = [];
  let read: Line[] = [];
  let readTest: Line[] = [];

  if (d.kind === 'sklearn') {
    const loader = sklearnLoader(d.name);
    imports.push(`from sklearn.datasets import ${loader}`);
    const field = task === 'image-classification' || task === 'sequence-classification' ? 'images' : 'data';
    read = [
      `    # scikit-learn ships this dataset inside the package: nothing to download.`,
      `    bunch = ${loader}()`,
      field === 'images'
        ? '    x, y = bunch.images, bunch.target  # images: (count, 8, 8) grey levels from 0 to 16'
        : '    x, y = bunch.data, bunch.target',
    ];
  } else if (d.kind === 'csv') {
    imports.push('import csv');
    readers.push(
      lines(
        ae ? 'def read_csv(path: str) -> np.ndarray:' : 'def read_csv(path: str, target: str) -> tuple:',
        ae
          ? '    """The numeric columns of a CSV file with a header row, one example per row."""'
          : '    """Features x (every column but target, as numbers) and the target column\'s values y of a CSV file."""',
        '    if not os.path.isfile(path):',
        '        raise SystemExit(f"{path} not found: set data_path in config.json or pass --data-path")',
        '    with open(path, newline="", encoding="utf-8") as f:',
        '        rows = [row for row in csv.reader(f) if row]',
        '    if len(rows) < 2:',
        '        raise SystemExit(f"{path} needs a header row and at least one row of data")',
        '    header, rows = rows[0], rows[1:]',
        ...(ae
          ? [
              '    try:',
              '        return np.array([[float(value) for value in row] for row in rows], dtype=np.float32)',
              '    except ValueError as error:',
              '        raise SystemExit(f"{path}: every column must be numeric ({error})") from None',
            ]
          : [
              '    if target not in header:',
              `        raise SystemExit(f"{path} has no column named {target!r}; its columns are: {', '.join(header)}")`,
              '    column = header.index(target)',
              '    try:',
              '        x = np.array([[float(v) for i, v in enumerate(row) if i != column] for row in rows], dtype=np.float32)',
              '    except ValueError as error:',
              '        raise SystemExit(f"{path}: every column but {target!r} must be numeric ({error})") from None',
              '    return x, np.array([row[column] for row in rows])',
            ]),
      ),
    );
    read = [ae ? '    x = read_csv(config["data_path"])' : '    x, y = read_csv(config["data_path"], config["target"])'];
    if (hasTest) readTest = [ae ? '    x_test = read_csv(config["test_path"])' : '    x_test, y_test = read_csv(config["test_path"], config["target"])'];
  } else if (d.kind === 'npz') {
    readers.push(
      lines(
        ae ? 'def read_arrays(path: str) -> np.ndarray:' : 'def read_arrays(path: str) -> tuple:',
        ae
          ? '    """The inputs x from an .npz file (array "x"), or from an x.npy file."""'
          : '    """Inputs x and targets y from an .npz file (arrays "x" and "y"), or from x.npy with y.npy beside it."""',
        '    if not os.path.isfile(path):',
        '        raise SystemExit(f"{path} not found: set data_path in config.json or pass --data-path")',
        '    if path.endswith(".npz"):',
        '        with np.load(path) as arrays:',
        ...(ae
          ? [
              '            if "x" not in arrays.files:',
              `                raise SystemExit(f"{path} has no array named x; it has: {', '.join(arrays.files)}")`,
              '            return arrays["x"]',
              '    return np.load(path)',
            ]
          : [
              '            if "x" not in arrays.files or "y" not in arrays.files:',
              `                raise SystemExit(f"{path} must hold arrays named x and y; it has: {', '.join(arrays.files)}")`,
              '            return arrays["x"], arrays["y"]',
              '    y_path = os.path.join(os.path.dirname(path), "y.npy")',
              '    if not os.path.isfile(y_path):',
              '        raise SystemExit(f"{y_path} not found: the targets of {path} go in y.npy beside it")',
              '    return np.load(path), np.load(y_path)',
            ]),
      ),
    );
    read = [ae ? '    x = read_arrays(config["data_path"])' : '    x, y = read_arrays(config["data_path"])'];
    if (hasTest) readTest = [ae ? '    x_test = read_arrays(config["test_path"])' : '    x_test, y_test = read_arrays(config["test_path"])'];
  }

  // Shapes the model expects.
  const shape: Line[] = [];
  const both = (line: string): Line[] => [line, hasTest && line.replace(/\bx\b/g, 'x_test')];
  if (task === 'tabular-classification' || task === 'regression') {
    shape.push('    if x.ndim != 2:', '        raise SystemExit(f"Expected a table of shape (examples, features); got {x.shape}")');
  } else if (task === 'image-classification') {
    if (d.kind === 'sklearn') shape.push('    x = x[:, None]  # add the channel dimension: (count, 1, 8, 8)');
    else {
      shape.push('    if x.ndim == 3:', '        x = x[:, None]  # grey images: add the channel dimension', hasTest && '        x_test = x_test[:, None]');
      shape.push('    if x.ndim != 4:', '        raise SystemExit(f"Expected images of shape (count, channels, height, width); got {x.shape}")');
    }
  } else if (task === 'sequence-classification') {
    if (d.kind === 'sklearn') shape.push('    # Read each 8x8 image row by row: a sequence of 8 steps with 8 features each.');
    else {
      shape.push('    if x.ndim == 2:', '        x = x[:, :, None]  # one feature per step', hasTest && '        x_test = x_test[:, :, None]');
      shape.push('    if x.ndim != 3:', '        raise SystemExit(f"Expected sequences of shape (count, steps, features); got {x.shape}")');
    }
  }

  const norm: Line[] = [];
  if (ae) {
    norm.push(
      '    # Scale every input value to [0, 1] with the training split\'s minimum and maximum (never the validation data).',
      '    low, high = x[train_index].min(axis=0), x[train_index].max(axis=0)',
      '    span = np.where(high > low, high - low, 1.0)',
      ...both('    x = np.clip((x - low) / span, 0.0, 1.0).astype(np.float32)'),
    );
  } else if (task === 'tabular-classification' || task === 'regression') {
    norm.push(
      '    # Standardise each feature with statistics of the training split only: using all the data would leak',
      '    # information about the validation examples into training.',
      '    mean, std = x[train_index].mean(axis=0), x[train_index].std(axis=0)',
      '    std = np.where(std > 0, std, 1.0)  # a constant feature stays constant',
      ...both('    x = ((x - mean) / std).astype(np.float32)'),
    );
  } else {
    norm.push(
      '    # Standardise with the training split\'s mean and spread (never the validation data\'s).',
      '    mean, std = x[train_index].mean(), x[train_index].std()',
      ...both('    x = ((x - mean) / std).astype(np.float32)'),
    );
  }

  const targets: Line[] = [];
  if (classify) {
    if (d.kind === 'sklearn') {
      targets.push('    class_names = [str(name) for name in bunch.target_names]', '    y = y.astype(np.int64)');
    } else {
      targets.push(
        '    # Labels (numbers or names) become class indices 0 .. classes - 1.',
        '    classes, y = np.unique(y, return_inverse=True)',
        '    y = y.astype(np.int64)',
        '    class_names = [str(label) for label in classes]',
        hasTest && '    y_test = encode_labels(y_test, classes.tolist())',
      );
    }
  } else if (task === 'regression') {
    targets.push(
      '    # Standardise the target as well: the network starts with outputs near 0 and learns faster.',
      '    # train.py multiplies errors by target_std to report them in the target\'s own units.',
      ...(d.kind === 'csv'
        ? [
            '    try:',
            '        y = y.astype(np.float32).reshape(-1, 1)',
            hasTest && '        y_test = y_test.astype(np.float32).reshape(-1, 1)',
            '    except ValueError:',
            '        raise SystemExit("The target column must be numeric for regression") from None',
          ]
        : ['    y = y.astype(np.float32).reshape(-1, 1)', hasTest && '    y_test = y_test.astype(np.float32).reshape(-1, 1)']),
      '    target_mean, target_std = float(y[train_index].mean()), float(y[train_index].std()) or 1.0',
      '    y = (y - target_mean) / target_std',
      hasTest && '    y_test = (y_test - target_mean) / target_std',
    );
  }

  const target = (idx: string) => (ae ? `x${idx}` : `y${idx}`);
  const info = classify
    ? '    info = {"input_shape": tuple(x.shape[1:]), "num_outputs": len(class_names), "class_names": class_names}'
    : task === 'regression'
      ? '    info = {"input_shape": tuple(x.shape[1:]), "num_outputs": 1, "target_mean": target_mean, "target_std": target_std}'
      : '    info = {"input_shape": tuple(x.shape[1:])}';

  const needsOs = d.kind === 'csv' || d.kind === 'npz';
  const header = lines(
    'import numpy as np',
    'import torch',
    ...imports.filter((l) => typeof l === 'string' && l.startsWith('from sklearn')),
    'from torch.utils.data import TensorDataset',
  );
  const stdlib = [imports.includes('import csv') && 'import csv', needsOs && 'import os'].filter(Boolean) as string[];
  return lines(
    stdlib.length ? stdlib.join('\n') + '\n' : false,
    header,
    '',
    '',
    ...readers.map((r) => r + '\n\n'),
    SPLIT,
    '',
    '',
    hasTest && classify ? ENCODE_LABELS + '\n\n' : false,
    'def load_data(config: dict) -> tuple:',
    ...LOAD_DATA_DOC,
    ...read,
    ...readTest,
    ...shape,
    '    train_index, val_index = split_indices(len(x), config["val_fraction"], config["seed"])',
    ...norm,
    ...targets,
    '',
    `    train_set = TensorDataset(torch.from_numpy(x[train_index]), torch.from_numpy(${target('[train_index]')}))`,
    `    val_set = TensorDataset(torch.from_numpy(x[val_index]), torch.from_numpy(${target('[val_index]')}))`,
    hasTest ? `    test_set = TensorDataset(torch.from_numpy(x_test), torch.from_numpy(${target('_test')}))` : '    test_set = None  # no separate test data: the validation split is the only held-out data',
    info,
    '    return train_set, val_set, test_set, info',
  );
}

const FLIP_AND_SHIFT = lines(
  'def flip_and_shift(x: torch.Tensor) -> torch.Tensor:',
  '    """Augmentation: a horizontal flip half of the time and a random shift of up to 1/8 of the size."""',
  '    if torch.rand(1).item() < 0.5:',
  '        x = x.flip(-1)',
  '    limit = max(1, x.shape[-1] // 8)',
  '    dy, dx = torch.randint(-limit, limit + 1, (2,)).tolist()',
  '    return torch.roll(x, shifts=(dy, dx), dims=(1, 2))',
);

function imageFolderData(o: ScaffoldOptions): string {
  const d = o.data as Extract<ScaffoldOptions['data'], { kind: 'image-folder' }>;
  const augment = usesAugmentation(o);
  const ae = o.task === 'autoencoding';
  const normalize = !ae;
  const hasTest = d.testPath !== undefined;
  return lines(
    'import os',
    '',
    'import numpy as np',
    'import torch',
    'from PIL import Image',
    'from torch.utils.data import Dataset, Subset',
    '',
    'IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")',
    normalize &&
      (o.architecture === 'transfer'
        ? lines(
            '# ImageNet\'s per-channel mean and spread: what the pretrained ResNet saw during its own training.',
            'MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)',
            'STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)',
          )
        : lines('# Pixels in [0, 1] are shifted and scaled to be centred on 0 with a spread near 1.', 'MEAN, STD = 0.5, 0.25')),
    '',
    '',
    'def find_classes(root: str) -> list:',
    '    """The class names: the sub-folders of root, sorted."""',
    '    if not os.path.isdir(root):',
    '        raise SystemExit(f"Image folder {root} not found: set data_path in config.json or pass --data-path")',
    '    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir() and not entry.name.startswith("."))',
    '    if not classes:',
    '        raise SystemExit(f"{root} has no class sub-folders: put each class\'s images in a folder of its own, e.g. {root}/cat/1.png")',
    '    return classes',
    '',
    '',
    augment && FLIP_AND_SHIFT + '\n\n',
    'def image_files(folder: str) -> list:',
    '    """The image files in folder and its sub-folders: folders sorted by path, files by name in each."""',
    '    found = []',
    '    for directory, subfolders, files in os.walk(folder, followlinks=True):',
    '        subfolders[:] = [sub for sub in subfolders if not sub.startswith(".")]  # skips .ipynb_checkpoints and the like',
    '        for name in files:',
    '            if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith("."):',
    '                found.append(os.path.join(directory, name))',
    '    return sorted(found, key=lambda path: (os.path.dirname(path), os.path.basename(path)))',
    '',
    '',
    'class ImageFolder(Dataset):',
    '    """Images stored as root/<class name>/<file> (or deeper), as (3, size, size) tensors, with the class index as target."""',
    '',
    `    def __init__(self, root: str, classes: list, size: int${augment ? ', augment: bool = False' : ''}):`,
    '        self.samples = []',
    '        for label, name in enumerate(classes):',
    '            folder = os.path.join(root, name)',
    '            if not os.path.isdir(folder):',
    '                raise SystemExit(f"{root} has no folder for the class {name!r}")',
    '            self.samples += [(path, label) for path in image_files(folder)]',
    '        if not self.samples:',
    '            raise SystemExit(f"No images found in the class folders of {root}")',
    '        self.size = size',
    augment && '        self.augment = augment',
    '',
    '    def __len__(self) -> int:',
    '        return len(self.samples)',
    '',
    '    def __getitem__(self, index: int) -> tuple:',
    '        path, label = self.samples[index]',
    '        with Image.open(path) as image:',
    '            pixels = np.asarray(image.convert("RGB").resize((self.size, self.size)), dtype=np.float32) / 255.0',
    '        x = torch.from_numpy(pixels).permute(2, 0, 1)  # (height, width, channels) -> (channels, height, width)',
    augment && '        if self.augment:',
    augment && '            x = flip_and_shift(x)',
    normalize ? '        return (x - MEAN) / STD, label' : '        return x, label  # values in [0, 1]: the autoencoder rebuilds x',
    '',
    '',
    'def load_data(config: dict) -> tuple:',
    ...LOAD_DATA_DOC,
    '    root, size = config["data_path"], config["image_size"]',
    '    classes = find_classes(root)',
    augment
      ? '    # Two views of the same files: augmented for training, unchanged for validation.'
      : '    images = ImageFolder(root, classes, size)',
    augment && '    train_view = ImageFolder(root, classes, size, augment=True)',
    augment && '    val_view = ImageFolder(root, classes, size)',
    '    generator = torch.Generator().manual_seed(config["seed"])',
    `    order = torch.randperm(len(${augment ? 'train_view' : 'images'}), generator=generator).tolist()`,
    '    val_count = max(1, int(len(order) * config["val_fraction"]))',
    `    train_set = Subset(${augment ? 'train_view' : 'images'}, order[val_count:])`,
    `    val_set = Subset(${augment ? 'val_view' : 'images'}, order[:val_count])`,
    hasTest ? '    test_set = ImageFolder(config["test_path"], classes, size)' : '    test_set = None  # no separate test data: the validation split is the only held-out data',
    ae
      ? '    info = {"input_shape": (3, size, size)}'
      : '    info = {"input_shape": (3, size, size), "num_outputs": len(classes), "class_names": classes}',
    '    return train_set, val_set, test_set, info',
  );
}

function torchvisionData(o: ScaffoldOptions): string {
  const d = o.data as { kind: 'torchvision'; name: TorchvisionDataset; root: string };
  const augment = usesAugmentation(o);
  const ae = o.task === 'autoencoding';
  const seq = o.task === 'sequence-classification';
  const stats: Record<TorchvisionDataset, [string, string, number, number]> = {
    MNIST: ['(0.1307,)', '(0.3081,)', 1, 28],
    FashionMNIST: ['(0.2860,)', '(0.3530,)', 1, 28],
    CIFAR10: ['(0.4914, 0.4822, 0.4465)', '(0.2470, 0.2435, 0.2616)', 3, 32],
  };
  const [mean, std, channels, size] = stats[d.name];
  const evalSteps = ['transforms.ToTensor()', !ae && 'transforms.Normalize(MEAN, STD)', seq && 'transforms.Lambda(rows_as_steps)'].filter(Boolean) as string[];
  const augmentSteps = [`transforms.RandomCrop(${size}, padding=${size / 8})`, d.name === 'CIFAR10' && 'transforms.RandomHorizontalFlip()'].filter(Boolean) as string[];
  const shape = seq ? `(${size}, ${size})` : `(${channels}, ${size}, ${size})`;
  return lines(
    'import torch',
    'from torch.utils.data import Subset',
    'from torchvision import datasets, transforms',
    '',
    !ae && `# The training images' per-channel mean and spread, to centre inputs on 0 with a spread near 1.`,
    !ae && `MEAN, STD = ${mean}, ${std}`,
    '',
    '',
    seq &&
      lines(
        'def rows_as_steps(image: torch.Tensor) -> torch.Tensor:',
        `    """(1, ${size}, ${size}) -> (${size}, ${size}): the image read row by row, one row per step."""`,
        '    return image.squeeze(0)',
        '',
        '',
      ),
    'def load_data(config: dict) -> tuple:',
    ...LOAD_DATA_DOC,
    '    root = config["data_root"]',
    `    eval_transform = transforms.Compose([${evalSteps.join(', ')}])`,
    augment && `    # Augmentation: random shifts${d.name === 'CIFAR10' ? ' and horizontal flips' : ''} of the training images, new ones every epoch.`,
    augment && `    train_transform = transforms.Compose([${[...augmentSteps, ...evalSteps].join(', ')}])`,
    `    # download=True fetches ${d.name} into root on the first run; later runs read the files there.`,
    augment && `    train_view = datasets.${d.name}(root, train=True, download=True, transform=train_transform)`,
    `    ${augment ? 'val_view' : 'images'} = datasets.${d.name}(root, train=True, download=True, transform=eval_transform)`,
    `    test_set = datasets.${d.name}(root, train=False, download=True, transform=eval_transform)`,
    '    generator = torch.Generator().manual_seed(config["seed"])',
    `    order = torch.randperm(len(${augment ? 'val_view' : 'images'}), generator=generator).tolist()`,
    '    val_count = max(1, int(len(order) * config["val_fraction"]))',
    `    train_set = Subset(${augment ? 'train_view' : 'images'}, order[val_count:])`,
    `    val_set = Subset(${augment ? 'val_view' : 'images'}, order[:val_count])`,
    ae
      ? `    info = {"input_shape": ${shape}}`
      : `    info = {"input_shape": ${shape}, "num_outputs": 10, "class_names": list(test_set.classes)}`,
    '    return train_set, val_set, test_set, info',
  );
}

export function renderData(o: ScaffoldOptions): string {
  const about = {
    sklearn: "scikit-learn's bundled dataset",
    csv: 'a CSV file',
    npz: 'NumPy arrays',
    'image-folder': 'an image folder with one sub-folder per class',
    torchvision: 'a torchvision dataset',
  }[o.data.kind];
  const doc = `"""The data of ${o.name}: ${about}, split into training and validation sets. load_data(config) is what train.py calls."""`;
  let body: string;
  switch (o.data.kind) {
    case 'sklearn':
    case 'csv':
    case 'npz':
      body = arrayData(o);
      break;
    case 'image-folder':
      body = imageFolderData(o);
      break;
    case 'torchvision':
      body = torchvisionData(o);
      break;
  }
  return `${doc}\n\n${body}\n`;
}
