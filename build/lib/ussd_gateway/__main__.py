import sys

from ussd_gateway.cli import main

sys.exit(main())
