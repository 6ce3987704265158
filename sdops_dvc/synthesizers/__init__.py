"""Generator families' implementations: SDV's (``sdv_adapter``), sequential CART (``cart``),
OpenDP's AIM and MST (``dp_adapter``), HMA for related tables (``multi_table``), behind one
Generator Protocol (``adapters``). Their registry, which params.yaml is validated against
without importing any of them, is :mod:`sdops_dvc.domain.families`.
"""
