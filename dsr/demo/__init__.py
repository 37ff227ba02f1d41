"""The demo company "Madkassen Demo ApS" (fictional): a shop database, a data map and a demo ad partner."""
