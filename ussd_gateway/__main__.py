import sys

from ussd_gateway.process.cli import main

sys.exit(main())
