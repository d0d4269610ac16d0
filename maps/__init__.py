"""Rendering of layers and gap scores as folium/Leaflet web maps for planners."""
