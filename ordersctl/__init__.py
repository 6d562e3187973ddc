"""``ordersctl``: operate a deployed (or local) order pipeline from its stack outputs.

Subcommands: ``status``, ``redrive``, ``smoke``, ``load`` (``bin/ordersctl --help``).
Logic lives in pure modules (``outputs``, ``stats``, ``redrive``, ``status``, ``traffic``);
boto3 and HTTP live only in the small adapters of ``aws`` and ``api``.
"""
