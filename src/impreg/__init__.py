"""impreg: replication of Razin, Maman and Cohen on implicit regularization towards low tensor rank."""

__version__ = "0.1.0"
