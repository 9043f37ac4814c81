"""The ESCI application: fine-tune a product-search encoder on Amazon Shopping Queries judgments.

``esci.data`` loads the judged pairs (official parquet files, a single pairs table, a
judgments + products pair, or a Hugging Face data set) into one normalised table.
"""
