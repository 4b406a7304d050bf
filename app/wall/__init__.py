"""What is on which screen: the wall's plan across screens, presets, what is kept between runs,
what is on view (and so shuttered or heard), the Wall menu, and `vigil wall`'s side in the
window."""
