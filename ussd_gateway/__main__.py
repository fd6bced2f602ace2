from ussd_gateway.cli import main
import sys

sys.exit(main())
