"""glassnet.data: datasets, a resumable DataLoader, and data sets downloaded with sha256 checks.

Everything here is NumPy: batches and data sets are NumPy arrays (move them to a GPU with
``glassnet.backend.to_device``). Imports only ``glassnet.errors`` (plus numpy, scikit-learn, tqdm).
"""

from glassnet.data import datasets, transforms
from glassnet.data.classification import CLASSIFICATION, load_classification
from glassnet.data.dataset import ArrayDataset, Dataset
from glassnet.data.download import data_home, dataset_dir, fetch, verify_file
from glassnet.data.image_folder import ImageFolder
from glassnet.data.loader import DataLoader

__all__ = ["Dataset", "ArrayDataset", "DataLoader", "datasets", "fetch", "verify_file", "data_home", "dataset_dir",
           "CLASSIFICATION", "load_classification", "transforms", "ImageFolder"]
