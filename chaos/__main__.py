import sys
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # before anything imports nameko

from chaos.harness import main  # noqa: E402

sys.exit(main())
