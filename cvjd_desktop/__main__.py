"""`python -m cvjd_desktop` opens the window, exactly like the `cvjd-desktop` script."""

from cvjd_desktop.ui.app import main

raise SystemExit(main())
