"""Faster training on a CPU, for the optimised network of Question 3.3: same model, less waiting.

Two helpers that let ``model.compile(..., jit_compile=True)`` pay off on a CPU. XLA (what
``jit_compile`` turns on) fuses each batch normalisation and activation into one pass over memory
instead of several. Two layers stand in its way, and each has a stand-in here that learns exactly
the same:

* ``MaxPooling2x2`` replaces ``layers.MaxPooling2D((2, 2))``: the gradient XLA compiles for the
  built-in layer is slow on a CPU, while a reshape and a maximum compile into fast code.
* ``augmented_batches`` moves the random flips and shifts (``RandomFlip``, ``RandomTranslation``)
  out of the model and into the input pipeline, where they are prepared on a background thread
  while the model trains; inside an XLA-compiled model they are slow. It is a ``tf.data``
  pipeline with TensorFlow as Keras's backend, and an ``AugmentedBatches`` (a
  ``keras.utils.PyDataset``) with JAX or PyTorch, so the notebook runs on those too.

How much faster the two together train than the same network in built-in layers without XLA:
``python -m lab.ablation --variants recipe builtin-layers --epochs 10`` measures it
(``results/ablation.md``).

``shared_tensor`` and ``fit_without_copies`` keep a ``fit`` on NumPy arrays from holding two
extra copies of the training images: TensorFlow's conversion of a large array takes twice its
size, 1.2 GiB for CIFAR-10's training set, which alone overflows a 2 GiB JupyterHub pod.

``patch_whitening`` computes the weights of the network's fixed first layer from the training
images (airbench's patch whitening): a first layer that needs no training, no batch normalisation
and no gradient, and works on 31 x 31 maps instead of 32 x 32, so each epoch costs less.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import threading

import keras
import numpy as np
from keras import layers, ops


@keras.saving.register_keras_serializable(package="cifar10_course")
class MaxPooling2x2(layers.Layer):
    """``MaxPooling2D((2, 2))`` written as a reshape and a maximum, which XLA compiles well.

    Each 2 x 2 square of pixels becomes one pixel holding the largest value of each channel,
    exactly as ``layers.MaxPooling2D((2, 2))`` does: an odd last row or column is left out.
    """

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return batch, height // 2, width // 2, channels

    def call(self, inputs):
        _, height, width, channels = inputs.shape
        height, width = height // 2, width // 2
        squares = ops.reshape(inputs[:, :2 * height, :2 * width],
                              (-1, height, 2, width, 2, channels))
        return ops.max(squares, axis=(2, 4))


def patch_whitening(images, size: int = 2, *, eps: float = 5e-4,
                    max_images: int = 5000) -> list[np.ndarray]:
    """Weights ``[kernel, bias]`` for a ``Conv2D(2 * size * size * channels, (size, size))``
    that whitens the *size* x *size* patches of *images*, as airbench's first layer does.

    Neighbouring pixels and colour channels are strongly correlated, so a network's first steps
    mostly relearn that. This layer removes it up front: its filters are the directions in which
    the patches vary (the eigenvectors of their covariance), each scaled so that its output has
    unit variance, and the bias makes the outputs zero on average. Each direction appears with
    both signs, so that the activation after the layer keeps both halves. *eps*, relative to the
    average pixel variance, stops the faintest directions (mostly noise) from being blown up.
    Computed from the first *max_images* images; the layer is meant to stay fixed
    (``trainable=False``).
    """
    x = np.asarray(images[:max_images], dtype=np.float32)
    channels = x.shape[-1]
    width = size * size * channels
    # Sums over all patches, a few hundred images at a time: the patches of 5,000 images in one
    # array would take about a gigabyte.
    count, total, products = 0, np.zeros(width), np.zeros((width, width))
    for chunk in range(0, len(x), 500):
        windows = np.lib.stride_tricks.sliding_window_view(x[chunk:chunk + 500], (size, size),
                                                           axis=(1, 2))
        # (n, h, w, channels, size, size) -> one row per patch, laid out as a Keras kernel
        patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, width).astype(np.float64)
        count += len(patches)
        total += patches.sum(axis=0)
        products += patches.T @ patches
    mean = total / count
    covariance = products / count - np.outer(mean, mean)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    floor = eps * np.trace(covariance) / len(covariance)
    directions = eigenvectors / np.sqrt(np.maximum(eigenvalues, 0.0) + floor)
    directions = np.concatenate([directions, -directions], axis=1)
    kernel = directions.reshape(size, size, channels, -1)
    return [kernel.astype(np.float32), (-mean @ directions).astype(np.float32)]


#: The colour Cutout paints its squares with: mid-grey, close to CIFAR-10's average pixel (0.47).
CUTOUT_FILL = 0.5


def augmentation_layers(image_size, *, flip: bool = True, shift: int = 2, cutout: int = 0,
                        seed: int | None = None) -> list:
    """The Keras layers that mirror images left to right (if *flip*) and shift them by up to
    *shift* pixels, the edge filled by reflection, for images of *image_size* (height, width);
    with *cutout*, they then paint a *cutout* x *cutout* square at a random place of each image
    mid-grey (Cutout, DeVries and Taylor 2017), so that no single part of an object can be
    relied on."""
    steps = []
    if flip:
        steps.append(layers.RandomFlip("horizontal", seed=seed))
    if shift or cutout:  # only these need the size (a pipeline of flat vectors has none)
        height, width = (int(d) for d in image_size)
    if shift:
        steps.append(layers.RandomTranslation(shift / height, shift / width, fill_mode="reflect",
                                              interpolation="nearest", seed=seed))
    if cutout:
        # RandomErasing with a fixed area and factor (1, 1): always one square of that size, in
        # the image (its side is the square root of the area's fraction of the image's).
        area = cutout * cutout / (height * width)
        steps.append(layers.RandomErasing(factor=(1.0, 1.0), scale=(area, area),
                                          fill_value=CUTOUT_FILL, value_range=(0.0, 1.0),
                                          seed=seed))
    return steps


def augmented_batches(x, y, batch_size: int, *, flip: bool = True, shift: int = 2,
                      cutout: int = 0, shuffle: bool = True, seed: int | None = None):
    """Shuffled batches of *x*, *y*, randomly mirrored and shifted, for ``model.fit``.

    Give it to ``model.fit`` in place of the arrays (no ``batch_size`` there then). Every epoch
    each image is, independently, mirrored left to right (if *flip*) and moved by up to *shift*
    pixels in each direction, the edge filled by reflection: new variations of the same images,
    which fights over-fitting. With *cutout*, a square of that side is then painted grey in each
    image (see :func:`augmentation_layers`). It is what ``layers.RandomFlip("horizontal")`` and
    ``layers.RandomTranslation`` do at the start of a model, done by the input pipeline instead,
    while the previous batch trains.

    With TensorFlow as Keras's backend (the course's) it is a ``tf.data.Dataset``: only the
    8-byte indices are shuffled (afresh every epoch); each batch is then gathered from the images
    in one step, in float32, and augmented on a background thread. With another backend (JAX or
    PyTorch, on a GPU machine say) it is an :class:`AugmentedBatches`, which does the same with
    the same layers.
    """
    if keras.backend.backend() != "tensorflow":
        return AugmentedBatches(x, y, batch_size, flip=flip, shift=shift, cutout=cutout,
                                shuffle=shuffle, seed=seed)
    import tensorflow as tf

    images = shared_tensor(x, np.float32)
    labels = shared_tensor(y, np.float32)
    count = int(images.shape[0])
    steps = augmentation_layers(images.shape[1:3], flip=flip, shift=shift, cutout=cutout,
                                seed=seed)
    augment = keras.Sequential(steps) if steps else None

    def gather(indices):
        batch = tf.gather(images, indices)
        if augment is not None:
            batch = augment(batch, training=True)
        return batch, tf.gather(labels, indices)

    indices = tf.data.Dataset.range(count)
    if shuffle:
        indices = indices.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    batches = indices.batch(batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    return batches.prefetch(tf.data.AUTOTUNE)


#: TensorFlow reads a tensor's memory only at this alignment or finer (it aborts otherwise).
ALIGNMENT = 4096
#: Arrays smaller than this are left to Keras: copying them costs nothing worth saving.
SHARE_FROM_BYTES = 16 * 2**20


def shared_tensor(array, dtype=None):
    """*array* as a TensorFlow tensor for the price of one copy instead of two.

    ``tf.convert_to_tensor`` (which ``model.fit`` and ``tf.data`` use on a NumPy array) keeps
    two copies of a large array while it converts; here the values are copied once, into a
    buffer aligned as TensorFlow requires, which the tensor then shares through DLPack. Floats
    become *dtype* (default: Keras's ``floatx``, what ``fit`` would cast them to).
    """
    import tensorflow as tf

    array = np.asarray(array)
    if dtype is None:
        dtype = keras.config.floatx() if array.dtype.kind == "f" else array.dtype
    dtype = np.dtype(dtype)
    nbytes = array.size * dtype.itemsize
    if nbytes == 0 or array.dtype.kind not in "biuf":
        return tf.convert_to_tensor(array.astype(dtype, copy=False))
    buffer = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = (-buffer.ctypes.data) % ALIGNMENT
    copy = buffer[start:start + nbytes].view(dtype).reshape(array.shape)
    np.copyto(copy, array, casting="unsafe")
    return tf.experimental.dlpack.from_dlpack(copy.__dlpack__())


def _shared(value):
    if isinstance(value, np.ndarray) and value.nbytes >= SHARE_FROM_BYTES \
            and value.dtype.kind in "biuf":
        return shared_tensor(value)
    return value


@contextlib.contextmanager
def fit_without_copies(model):
    """Meanwhile, ``model.fit`` on large NumPy arrays converts them with :func:`shared_tensor`.

    What ``fit`` computes is unchanged: the arrays hold the same values and Keras batches and
    shuffles them as it would. ``validation_split`` is applied to the arrays first, as Keras
    does (the last fraction of the samples, before shuffling), so that it copies nothing either.
    With JAX or PyTorch as Keras's backend, ``fit`` copies no whole array and is left as it is.
    """
    if keras.backend.backend() != "tensorflow":
        yield model
        return
    fit = model.fit
    signature = inspect.signature(type(model).fit)  # names the arguments, whatever wraps fit

    def lean_fit(*args, **kwargs):
        call = signature.bind(model, *args, **kwargs)
        arguments = call.arguments
        x, y = arguments.get("x"), arguments.get("y")
        split = arguments.get("validation_split") or 0.0
        if split and isinstance(x, np.ndarray) and isinstance(y, np.ndarray) \
                and arguments.get("validation_data") is None \
                and arguments.get("sample_weight") is None and 0 < split < 1:
            at = int(math.floor(len(x) * (1.0 - split)))
            if 0 < at < len(x):
                arguments["x"], arguments["y"] = x[:at], y[:at]
                arguments["validation_data"] = (x[at:], y[at:])
                arguments["validation_split"] = 0.0
        for name in ("x", "y"):
            if name in arguments:
                arguments[name] = _shared(arguments[name])
        if isinstance(arguments.get("validation_data"), tuple):
            arguments["validation_data"] = tuple(_shared(v) for v in arguments["validation_data"])
        return fit(*call.args[1:], **call.kwargs)

    own = vars(model).get("fit")  # a fit set on this model itself, if any, comes back after
    object.__setattr__(model, "fit", lean_fit)
    try:
        yield model
    finally:
        if own is None:
            object.__delattr__(model, "fit")
        else:
            object.__setattr__(model, "fit", own)


class AugmentedBatches(keras.utils.PyDataset):
    """:func:`augmented_batches` for any Keras backend, as a ``keras.utils.PyDataset``.

    Batch *i* of an epoch is gathered from a fresh random order of the images and passed through
    the same ``RandomFlip`` and ``RandomTranslation`` layers. ``model.fit`` prepares the next
    batches in background threads (*workers*) while the current one trains; one lock keeps the
    layers' random state from being used by two threads at once.
    """

    def __init__(self, x, y, batch_size: int, *, flip: bool = True, shift: int = 2,
                 cutout: int = 0, shuffle: bool = True, seed: int | None = None,
                 workers: int = 4):
        super().__init__(workers=workers, use_multiprocessing=False)
        self.x = np.asarray(x, dtype=np.float32)
        self.y = np.asarray(y, dtype=np.float32)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        steps = augmentation_layers(self.x.shape[1:3], flip=flip, shift=shift, cutout=cutout,
                                    seed=seed)
        self._augment = keras.Sequential(steps) if steps else None
        self._lock = threading.Lock()
        self._order = self._new_order()

    def _new_order(self) -> np.ndarray:
        count = len(self.x)
        return self._rng.permutation(count) if self.shuffle else np.arange(count)

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} of {len(self)}")
        chosen = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        batch = self.x[chosen]
        if self._augment is not None:
            with self._lock:
                batch = ops.convert_to_numpy(self._augment(batch, training=True))
        return batch, self.y[chosen]

    def on_epoch_end(self) -> None:
        self._order = self._new_order()
