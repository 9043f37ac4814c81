"""The ESCI application: fine-tune a product-search encoder on Amazon Shopping Queries judgments.

``esci.data`` loads the judged pairs (official parquet files, a single pairs table, a
judgments + products pair, or a Hugging Face data set) into one normalised table.

Commands (each ``--help`` lists its options):

* ``python -m esci.train``: LoRA fine-tuning (``esci.model.EsciModel``), options from
  ``esci.config.TrainConfig``; writes the servable, adapter, metrics, ROC curve and config.
* ``python -m esci.index``: push the catalogue, embedded by the servable, into Qdrant.
* ``python -m esci.search "query" -k 10 --threshold 0.7``: ranked titles with cosine scores.
* ``python -m esci.evaluate --servable DIR --data DIR``: validation ROC-AUC and Qdrant nDCG@10.
* ``python -m esci.demo``: all of the above on the demo set (``make demo``).
"""
