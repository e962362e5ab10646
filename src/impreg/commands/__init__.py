"""The command-line commands of each experiment, one module per experiment (and ``tools`` for the
rest): their flags and handlers. impreg.experiments registers them; impreg.cli builds the parser.

Handlers and flag functions import what they need when called, so that building the parser and
running a light command such as ``report`` never imports torch."""
