def pytest_configure(config):
    config.addinivalue_line("markers", "chaos: the short fault-injection run (python -m chaos --short)")
