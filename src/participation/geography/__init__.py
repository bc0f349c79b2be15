"""Administrative units (city → county → street → community) and their populations."""
